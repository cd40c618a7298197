package io.faultline.junit;

import io.faultline.FaultBuilder;
import io.faultline.Faultline;
import java.lang.annotation.Annotation;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.BeforeTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The faultline JUnit 5 extension. {@link InjectFault} and {@link FaultScenario} register it by
 * themselves; register it with {@code @ExtendWith(FaultlineExtension.class)} to use only
 * programmatic faults through a {@link Faults} parameter.
 *
 * <ul>
 *   <li>before each test (before {@code @BeforeEach} methods): installs the agent on first use
 *       and enters the test's scope on the test thread;</li>
 *   <li>right before the test body: arms the faults of the annotations (class ones first);</li>
 *   <li>right after the body, whatever its outcome: fails the test if a declared fault's target
 *       matched no method, then removes every fault of the test;</li>
 *   <li>after each test (after {@code @AfterEach} methods): removes what was armed since, and
 *       leaves the scope.</li>
 * </ul>
 *
 * <p>Scope rule: a fault of a test fires on the test's own thread and on the threads that thread
 * starts from {@code @BeforeEach} on (they inherit the scope), not on threads that existed before
 * (a pool created in {@code @BeforeAll} or by another test): for those, use {@code global = true}.
 */
public class FaultlineExtension
        implements BeforeEachCallback, BeforeTestExecutionCallback, AfterTestExecutionCallback, AfterEachCallback,
        ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(FaultlineExtension.class);
    private static final String KEY = "faults";
    private static final AtomicLong SERIAL = new AtomicLong();

    @Override
    public void beforeEach(ExtensionContext context) {
        Faults faults = faults(context);
        Faultline.install(); // IllegalStateException saying what is missing and how to fix it
        faults.enterScope();
    }

    @Override
    public void beforeTestExecution(ExtensionContext context) {
        Faults faults = faults(context);
        try {
            for (Declared d : declared(context)) {
                d.arm(faults);
            }
        } catch (RuntimeException e) {
            RuntimeException closing = faults.closeAll();
            if (closing != null) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    @Override
    public void afterTestExecution(ExtensionContext context) {
        Faults faults = faults(context);
        List<String> unmatched;
        try {
            unmatched = faults.unmatched();
        } finally {
            RuntimeException closing = faults.closeAll();
            if (closing != null) {
                throw closing;
            }
        }
        if (!unmatched.isEmpty()) {
            throw new FaultConfigurationException(String.join("\n", unmatched));
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        Faults faults = faults(context);
        RuntimeException closing = faults.closeAll();
        faults.leaveScope();
        if (closing != null) {
            throw closing;
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Faults.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        if (!context.getTestMethod().isPresent()) {
            throw new ParameterResolutionException("faultline: a Faults parameter belongs to one test: declare it on"
                    + " a test method or a @BeforeEach/@AfterEach method, not on " + parameter.getDeclaringExecutable());
        }
        return faults(context);
    }

    /** The faults of the test of this (method-level) context, created on first use. */
    private static Faults faults(ExtensionContext context) {
        ExtensionContext.Store store = context.getStore(NAMESPACE);
        return store.getOrComputeIfAbsent(KEY, k -> {
            long n = SERIAL.incrementAndGet();
            String test = testName(context);
            return new Faults("junit-" + n + ":" + test, "t" + n, test);
        }, Faults.class);
    }

    private static String testName(ExtensionContext context) {
        String cls = context.getTestClass().map(Class::getName).orElse("?");
        Optional<Method> m = context.getTestMethod();
        return m.isPresent() ? cls + "#" + m.get().getName() : cls;
    }

    // ------------------------------------------------------------------ annotations

    /** One @InjectFault or @FaultScenario, with where it was found. */
    private static final class Declared {
        final Annotation annotation;
        final String location;

        Declared(Annotation annotation, String location) {
            this.annotation = annotation;
            this.location = location;
        }

        void arm(Faults faults) {
            if (annotation instanceof InjectFault) {
                InjectFault f = (InjectFault) annotation;
                String description = describe(f) + " on " + location;
                faults.armFault(builder(f), f.global(), description, description, true);
            } else {
                FaultScenario s = (FaultScenario) annotation;
                String description = "@FaultScenario(\"" + s.value() + "\"" + (s.global() ? ", global = true" : "")
                        + ") on " + location;
                faults.armFile(Paths.get(s.value()), s.global(), description, true);
            }
        }
    }

    static FaultBuilder builder(InjectFault f) {
        FaultBuilder b = Faultline.fault(f.kind());
        if (!f.id().isEmpty()) b.id(f.id());
        if (!f.target().isEmpty()) b.target(f.target());
        if (!f.preset().isEmpty()) b.preset(f.preset());
        if (!f.sql().isEmpty()) b.sql(f.sql());
        if (!f.operation().isEmpty()) b.operation(f.operation());
        if (!f.url().isEmpty()) b.url(f.url());
        if (!f.path().isEmpty()) b.path(f.path());
        if (!f.method().isEmpty()) b.method(f.method());
        if (!f.destination().isEmpty()) b.destination(f.destination());
        if (!f.side().isEmpty()) b.side(f.side());
        if (!f.host().isEmpty()) b.host(f.host());
        if (f.port() != -1) b.port(f.port());
        if (f.status() != -1) b.status(f.status());
        if (!f.grpcStatus().isEmpty()) b.status(f.grpcStatus());
        if (f.fill() != -1) b.fill(f.fill());
        if (f.cores() != -1) b.cores(f.cores());
        if (f.load() != -1) b.load(f.load());
        if (f.count() != -1) b.count(f.count());
        if (!f.state().isEmpty()) b.state(f.state());
        if (!f.every().isEmpty()) b.every(f.every());
        if (!f.size().isEmpty()) b.size(f.size());
        if (!f.raiseName().isEmpty()) b.raise(f.raiseName());
        if (!f.delay().isEmpty()) b.delay(f.delay());
        if (!f.jitter().isEmpty()) b.jitter(f.jitter());
        if (f.raise() != InjectFault.Unset.class) b.raise(f.raise());
        if (!f.message().isEmpty()) b.message(f.message());
        if (f.probability() != -1) b.probability(f.probability());
        if (f.after() != -1) b.after(f.after());
        if (f.limit() != -1) b.limit(f.limit());
        if (!f.threads().isEmpty()) b.threads(f.threads());
        if (!f.max().isEmpty()) b.max(f.max());
        if (!f.duration().isEmpty()) b.duration(f.duration());
        if (!f.when().isEmpty()) b.when(f.when());
        if (!f.at().isEmpty()) b.at(f.at());
        if (!f.value().isEmpty()) b.returning(valueOf(f.value()));
        return b;
    }

    /** An annotation's {@code value} text as the value it stands for, as the CLI reads --value. */
    static Object valueOf(String text) {
        String t = text.trim();
        if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
            return t.substring(1, t.length() - 1);
        }
        switch (t) {
            case "null": return null;
            case "empty": return java.util.Optional.empty();
            case "true": return Boolean.TRUE;
            case "false": return Boolean.FALSE;
            default:
                break;
        }
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            // not a whole number
        }
        try {
            double d = Double.parseDouble(t);
            if (!Double.isNaN(d) && !Double.isInfinite(d)) {
                return d;
            }
        } catch (NumberFormatException e) {
            // text
        }
        return text;
    }

    static String describe(InjectFault f) {
        StringBuilder s = new StringBuilder("@InjectFault(");
        if (!f.id().isEmpty()) {
            s.append("id=\"").append(f.id()).append("\", ");
        }
        s.append("kind=\"").append(f.kind()).append('"');
        if (f.id().isEmpty() && !f.target().isEmpty()) {
            s.append(", target=\"").append(f.target()).append('"');
        }
        if (f.id().isEmpty() && !f.preset().isEmpty()) {
            s.append(", preset=\"").append(f.preset()).append('"');
        }
        if (f.global()) {
            s.append(", global=true");
        }
        return s.append(')').toString();
    }

    /**
     * The annotations of a test, in order: those of the enclosing classes of a {@code @Nested}
     * class, of superclasses, of the class, then of the method; each in declaration order,
     * composed annotations (annotated with them) included.
     */
    static List<Declared> declared(ExtensionContext context) {
        List<Declared> out = new ArrayList<>();
        Class<?> testClass = context.getRequiredTestClass();
        Method method = context.getRequiredTestMethod();
        List<Class<?>> nesting = new ArrayList<>();
        for (Class<?> c = testClass; c != null; c = Modifier.isStatic(c.getModifiers()) ? null : c.getEnclosingClass()) {
            nesting.add(0, c);
        }
        for (Class<?> outer : nesting) {
            List<Class<?>> hierarchy = new ArrayList<>();
            for (Class<?> c = outer; c != null && c != Object.class; c = c.getSuperclass()) {
                hierarchy.add(0, c);
            }
            for (Class<?> c : hierarchy) {
                collect(c, "class " + c.getName(), out);
            }
        }
        collect(method, method.getDeclaringClass().getName() + "#" + method.getName(), out);
        return out;
    }

    private static void collect(AnnotatedElement element, String location, List<Declared> out) {
        for (Annotation a : element.getDeclaredAnnotations()) {
            if (!expand(a, location, out)) {
                Class<? extends Annotation> composed = a.annotationType();
                String name = composed.getName();
                if (!name.startsWith("java.") && !name.startsWith("org.junit.")) {
                    for (Annotation meta : composed.getDeclaredAnnotations()) {
                        expand(meta, location + " (through @" + composed.getSimpleName() + ")", out);
                    }
                }
            }
        }
    }

    private static boolean expand(Annotation a, String location, List<Declared> out) {
        if (a instanceof InjectFault || a instanceof FaultScenario) {
            out.add(new Declared(a, location));
        } else if (a instanceof InjectFaults) {
            for (InjectFault f : ((InjectFaults) a).value()) {
                out.add(new Declared(f, location));
            }
        } else if (a instanceof FaultScenarios) {
            for (FaultScenario s : ((FaultScenarios) a).value()) {
                out.add(new Declared(s, location));
            }
        } else {
            return false;
        }
        return true;
    }
}
