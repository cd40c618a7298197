package io.faultline.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Arms one fault right before the test body and removes it right after, whatever the outcome.
 * On a test class, it applies to every test of the class (and of its subclasses and
 * {@code @Nested} classes). Repeatable. Registers {@link FaultlineExtension} by itself.
 *
 * <p>The attributes are the keys of a scenario file's {@code [[fault]]} table, with
 * {@link #raise()} in place of {@code throw}. Durations are strings ({@code "300ms"}); an
 * attribute left at its default is not set, so the scenario default applies.
 *
 * <p>Scope: by default the fault fires only on the test's own thread and on the threads started
 * from it while the test runs (including from {@code @BeforeEach} methods), so tests running in
 * parallel do not see each other's faults. {@code global = true} makes it process-wide.
 *
 * <pre>{@code
 * @Test
 * @InjectFault(id = "slow", kind = "latency", target = "com.acme.Payments#charge", delay = "300ms")
 * void fallsBack(Faults faults) { ... assertEquals(1, faults.injected("slow")); }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Repeatable(InjectFaults.class)
@ExtendWith(FaultlineExtension.class)
public @interface InjectFault {
    /** The fault's id, for {@link Faults#injected(String)} and the events; default f1, f2, ... */
    String id() default "";

    /** {@code latency}, {@code exception}, {@code hang}, {@code return} or {@code respond}. */
    String kind();

    /** {@code CLASS#METHOD} or {@code CLASS#METHOD(PARAMS)} (see the README's "Targets"). */
    String target() default "";

    /**
     * A failure mode by name instead of a target: {@code jdbc}, {@code jdbc-connect},
     * {@code http-server}, {@code http-client}, {@code dns} or {@code socket}, with its keys
     * below (the README's "Presets").
     */
    String preset() default "";

    /** Preset jdbc: a regular expression found in the statement's SQL. */
    String sql() default "";

    /** Preset jdbc: select, insert, update, delete or other. */
    String operation() default "";

    /** Presets jdbc, jdbc-connect: a glob on the JDBC URL; http-client: on the request URL. */
    String url() default "";

    /** Preset http-server: a glob on the request path. */
    String path() default "";

    /** Presets http-server, http-client: the HTTP method; grpc: a glob on {@code package.Service/Method}. */
    String method() default "";

    /** Preset jms: a glob on the queue or topic name. */
    String destination() default "";

    /** Preset grpc: {@code client} or {@code server}; jms: {@code producer} or {@code consumer} (default: both). */
    String side() default "";

    /** Presets dns, socket: a glob on the host. */
    String host() default "";

    /** Preset socket: the remote port ({@code -1} means unset). */
    int port() default -1;

    /** respond: the HTTP status (or gRPC status code, 1..16) to answer with ({@code -1} means unset). */
    int status() default -1;

    /** respond, preset grpc: a gRPC status by name, such as {@code "UNAVAILABLE"}. */
    String grpcStatus() default "";

    /** heap: the fraction of the maximum heap in use while armed ({@code -1} means unset); needs {@code global = true}. */
    double fill() default -1;

    /** cpu: busy threads ({@code -1}: the JVM's available processors). */
    int cores() default -1;

    /** cpu: each busy thread's duty cycle ({@code -1} means unset: 1). */
    double load() default -1;

    /** threads: how many threads to hold ({@code -1} means unset). */
    int count() default -1;

    /** threads: {@code "waiting"} or {@code "running"}. */
    String state() default "";

    /** gc: a full collection this often, e.g. {@code "2s"}. */
    String every() default "";

    /** metaspace, direct: how much to take, e.g. {@code "64MB"}. */
    String size() default "";

    /** latency: the delay, e.g. {@code "300ms"}. */
    String delay() default "";

    /** latency: uniform +/- around the delay. */
    String jitter() default "";

    /** exception: the Throwable to throw (the scenario key {@code throw}). */
    Class<? extends Throwable> raise() default Unset.class;

    /**
     * exception: the class to throw by name, when {@link #raise()} cannot name it (a class the
     * test does not see), or a preset's own name for it ({@code "timeout"}, {@code "connect"}).
     */
    String raiseName() default "";

    /** exception: the message of the thrown exception. */
    String message() default "";

    /** 0..1; default 1 ({@code -1} means unset). */
    double probability() default -1;

    /** Skip the first N matching calls; default 0 ({@code -1} means unset). */
    long after() default -1;

    /** At most N injections; default unlimited ({@code -1} means unset). */
    long limit() default -1;

    /** Only calls on threads whose name matches this glob. */
    String threads() default "";

    /** Only calls that meet this condition, e.g. {@code "arg1 > 500"} (the README's "Conditions"). */
    String when() default "";

    /** {@code "entry"} (the default) or {@code "exit"}: after the body returned normally. */
    String at() default "";

    /**
     * return: the value to return, written as on the command line: a number, {@code true},
     * {@code false}, {@code null}, {@code empty}, or text (quote text that reads as one of
     * those: {@code "\"42\""}). Left out on a void method: its body is skipped.
     */
    String value() default "";

    /** hang: the longest a call is held; default 10m. */
    String max() default "";

    /** The fault is removed after this, even while the test still runs. */
    String duration() default "";

    /** Process-wide: fire on every thread, not only the test's own threads. */
    boolean global() default false;

    /** The default of {@link #raise()}: no exception class given. */
    final class Unset extends Throwable {
        private static final long serialVersionUID = 1L;

        private Unset() {}
    }
}
