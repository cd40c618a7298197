package io.faultline.junit;

import io.faultline.Arming;
import io.faultline.FaultBuilder;
import io.faultline.FaultEvent;
import io.faultline.FaultHandle;
import io.faultline.Faultline;
import io.faultline.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The faults of one test, resolved as a parameter by {@link FaultlineExtension}: arm more
 * faults in the test body, and read what happened to all of them (those of the annotations
 * too). Everything armed through it is removed after the test, whatever its outcome.
 *
 * <pre>{@code
 * @Test
 * @ExtendWith(FaultlineExtension.class)
 * void retries(Faults faults) {
 *     faults.arm(Faultline.fault("exception").id("flaky").target("com.acme.PaymentClient#charge")
 *             .raise(SocketTimeoutException.class).limit(2));
 *     ...
 *     assertEquals(2, faults.injected("flaky"));
 * }
 * }</pre>
 *
 * <p>Fault ids are the ones you give (or {@code KIND-N} when you give none, {@code fN} in
 * scenario files). Ids are unique in the JVM while armed: when a test running in parallel
 * holds the same id, this test's fault is armed as {@code ID.tN} instead; the methods of this
 * class accept the id you gave either way, and {@link FaultEvent#fault()} shows the one armed.
 */
public final class Faults {
    private final String scope;
    private final String suffix;
    private final String testName;
    private final List<Armed> armed = new ArrayList<>();
    private final Map<String, String> agentIds = new LinkedHashMap<>(); // user id -> id in the agent
    private final Map<String, String> userIds = new HashMap<>();        // id in the agent -> user id
    private int generated;
    private AutoCloseable scopeHandle;

    Faults(String scope, String suffix, String testName) {
        this.scope = scope;
        this.suffix = suffix;
        this.testName = testName;
    }

    /** One arming: a fault or a scenario, with the text that describes it in messages. */
    static final class Armed {
        final String description;
        final FaultHandle handle;
        final boolean declarative;
        boolean closed;

        Armed(String description, FaultHandle handle, boolean declarative) {
            this.description = description;
            this.handle = handle;
            this.declarative = declarative;
        }
    }

    // ------------------------------------------------------------------ arming

    /**
     * Arms a fault scoped to this test: it fires only on the test's thread and the threads
     * started from it while the test runs. Removed after the test.
     *
     * @throws IllegalArgumentException when the agent refuses the fault (the message names the key)
     */
    public FaultHandle arm(FaultBuilder fault) {
        return armBuilder(fault, false);
    }

    /** Arms a process-wide fault (every thread, including pools created before the test). Removed after the test. */
    public FaultHandle armGlobal(FaultBuilder fault) {
        return armBuilder(fault, true);
    }

    /** Arms every fault of a scenario file, scoped to this test. Removed after the test. */
    public FaultHandle apply(Path scenario) {
        return armFile(scenario, false, "faults.apply(" + scenario + ")", false);
    }

    /** Arms every fault of a scenario file process-wide. Removed after the test. */
    public FaultHandle applyGlobal(Path scenario) {
        return armFile(scenario, true, "faults.applyGlobal(" + scenario + ")", false);
    }

    private FaultHandle armBuilder(FaultBuilder fault, boolean global) {
        String origin = "fault armed at " + caller() + " in " + testName;
        try {
            return armFault(fault, global, origin, origin, false);
        } catch (FaultConfigurationException e) {
            throw new IllegalArgumentException(e.getMessage(), e.getCause());
        }
    }

    /** Arms one fault built from an annotation or the builder; generates its id when it has none. */
    FaultHandle armFault(FaultBuilder fault, boolean global, String origin, String description, boolean declarative) {
        if (fault.id() == null) {
            String kind = fault.kind().replaceAll("[^A-Za-z0-9_.-]", "");
            String id;
            do {
                id = kind + "-" + (++generated);
            } while (agentIds.containsKey(id));
            fault = fault.copy().id(id);
        }
        return armText(fault.toToml(), global, origin, false, description, declarative);
    }

    FaultHandle armFile(Path file, boolean global, String description, boolean declarative) {
        String text;
        try {
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new FaultConfigurationException(description + ": cannot read the scenario file "
                    + file.toAbsolutePath() + " (" + e + "); paths are relative to the working directory "
                    + Path.of("").toAbsolutePath(), e);
        }
        return armText(text, global, file.toString(), true, description, declarative);
    }

    /**
     * Arms scenario text, scoped unless global. When an id is taken in the JVM (a test running
     * in parallel holds it), arms again with every id suffixed by this test's tag.
     */
    private synchronized FaultHandle armText(String toml, boolean global, String origin, boolean file,
                                             String description, boolean declarative) {
        Arming arming = new Arming().scope(global ? null : scope);
        boolean renamed = false;
        FaultHandle handle;
        try {
            handle = Faultline.applyText(toml, origin, arming);
        } catch (IllegalArgumentException first) {
            if (first.getMessage() == null || !first.getMessage().contains("is already armed in this JVM")) {
                throw refused(first, origin, file, description);
            }
            renamed = true;
            try {
                handle = Faultline.applyText(toml, origin, arming.idSuffix(suffix));
            } catch (IllegalArgumentException second) {
                throw refused(second, origin, file, description);
            }
        }
        for (String agentId : handle.ids()) {
            if (agentIds.containsKey(userId(agentId, renamed))) {
                handle.close();
                throw new FaultConfigurationException(description + ": fault id '" + userId(agentId, renamed)
                        + "' is used twice in this test; give each fault its own id");
            }
        }
        for (String agentId : handle.ids()) {
            agentIds.put(userId(agentId, renamed), agentId);
            userIds.put(agentId, userId(agentId, renamed));
        }
        armed.add(new Armed(description, handle, declarative));
        return handle;
    }

    /** The id the test gave, for an id as armed (with this test's suffix when renamed). */
    private String userId(String agentId, boolean renamed) {
        return renamed && agentId.endsWith("." + suffix)
                ? agentId.substring(0, agentId.length() - suffix.length() - 1) : agentId;
    }

    private static FaultConfigurationException refused(IllegalArgumentException e, String origin, boolean file,
                                                        String description) {
        String reason = file ? e.getMessage() : withoutLine(e.getMessage(), origin);
        String message;
        if (file) {
            message = description + ": " + reason;
        } else {
            message = reason.replace("key 'throw'", "key 'throw' (attribute raise)");
        }
        return new FaultConfigurationException(message, e);
    }

    /**
     * The agent's message without the line number after {@code origin}: text generated from
     * an annotation or a builder has no lines the user wrote.
     */
    private static String withoutLine(String message, String origin) {
        if (message == null) {
            return origin + ": rejected by the agent";
        }
        String prefix = origin + ":";
        if (message.startsWith(prefix)) {
            int start = prefix.length();
            int end = start;
            while (end < message.length() && Character.isDigit(message.charAt(end))) {
                end++;
            }
            if (end > start && end < message.length() && message.charAt(end) == ':') {
                return origin + message.substring(end);
            }
        }
        return message;
    }

    // ------------------------------------------------------------------ reading

    /** The scope token of this test (see {@link Faultline#enterScope}). */
    public String scope() {
        return scope;
    }

    /** The ids of every fault armed for this test so far, in arming order. */
    public synchronized List<String> ids() {
        return Collections.unmodifiableList(new ArrayList<>(agentIds.keySet()));
    }

    /** Injections so far by all faults of this test. */
    public synchronized long injected() {
        long total = 0;
        for (Armed a : armed) {
            total += a.handle.injected();
        }
        return total;
    }

    /** Injections so far by one fault of this test. */
    public long injected(String id) {
        String agentId = agentId(id);
        return handle(id).injected(agentId);
    }

    /** Calls of the fault's instrumented methods seen so far (injected or not). */
    public long calls(String id) {
        String agentId = agentId(id);
        FaultHandle handle = handle(id);
        if (handle.ids().size() == 1) {
            return handle.calls();
        }
        for (Object f : Json.array(Json.object(Json.parse(Faultline.status())).get("faults"))) {
            Map<String, Object> fault = Json.object(f);
            if (agentId.equals(fault.get("id"))) {
                return Json.number(fault.get("calls"));
            }
        }
        List<FaultEvent> events = events(id);
        for (int i = events.size() - 1; i >= 0; i--) {
            FaultEvent e = events.get(i);
            if ("removed".equals(e.kind()) || "expired".equals(e.kind())) {
                return Json.number(e.get("calls"));
            }
        }
        return 0;
    }

    /** The handle holding a fault of this test (a scenario's handle holds all of its faults). */
    public synchronized FaultHandle handle(String id) {
        String agentId = agentId(id);
        for (Armed a : armed) {
            if (a.handle.ids().contains(agentId)) {
                return a.handle;
            }
        }
        throw new IllegalArgumentException("no fault '" + id + "' in this test; its faults are " + agentIds.keySet());
    }

    /** The events of this test's faults (armed, each injection, removed), oldest first. */
    public List<FaultEvent> events() {
        List<String> ids;
        synchronized (this) {
            ids = new ArrayList<>(userIds.keySet());
        }
        return eventsOf(ids);
    }

    /** The events of one fault of this test, oldest first. */
    public List<FaultEvent> events(String id) {
        return eventsOf(Collections.singletonList(agentId(id)));
    }

    /** Events of these agent ids since they were last armed (an id may have served an earlier test). */
    private static List<FaultEvent> eventsOf(List<String> ids) {
        List<FaultEvent> all = Faultline.events();
        Map<String, Integer> lastArmed = new HashMap<>();
        for (int i = 0; i < all.size(); i++) {
            FaultEvent e = all.get(i);
            if ("armed".equals(e.kind()) && ids.contains(e.fault())) {
                lastArmed.put(e.fault(), i);
            }
        }
        List<FaultEvent> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            FaultEvent e = all.get(i);
            if (ids.contains(e.fault()) && i >= lastArmed.getOrDefault(e.fault(), 0)) {
                out.add(e);
            }
        }
        return out;
    }

    private synchronized String agentId(String id) {
        String agentId = agentIds.get(id);
        if (agentId == null) {
            agentId = userIds.containsKey(id) ? id : null;
        }
        if (agentId == null) {
            throw new IllegalArgumentException("no fault '" + id + "' in this test; its faults are " + agentIds.keySet());
        }
        return agentId;
    }

    // ------------------------------------------------------------------ lifecycle (the extension's)

    void enterScope() {
        scopeHandle = Faultline.enterScope(scope);
    }

    void leaveScope() throws Exception {
        AutoCloseable s = scopeHandle;
        scopeHandle = null;
        if (s != null) {
            s.close();
        }
    }

    /**
     * Faults of annotations and scenario files that matched no method and injected nothing
     * while the test ran: likely a typo in the target. One message per fault.
     */
    synchronized List<String> unmatched() {
        List<String> problems = new ArrayList<>();
        boolean any = false;
        for (Armed a : armed) {
            any |= a.declarative && !a.closed;
        }
        if (!any) {
            return problems;
        }
        Map<String, Map<String, Object>> status = new HashMap<>();
        for (Object f : Json.array(Json.object(Json.parse(Faultline.status())).get("faults"))) {
            Map<String, Object> fault = Json.object(f);
            status.put(String.valueOf(fault.get("id")), fault);
        }
        for (Armed a : armed) {
            if (!a.declarative || a.closed) {
                continue;
            }
            for (String agentId : a.handle.ids()) {
                Map<String, Object> fault = status.get(agentId);
                if (fault == null) {
                    continue; // expired (duration) before the end of the test
                }
                // A pool fault matches executors, not methods: it has no method to miss.
                if (!"pool".equals(fault.get("kind"))
                        && Json.number(fault.get("method_count")) == 0 && Json.number(fault.get("injected")) == 0) {
                    StringBuilder why = new StringBuilder(a.description).append(": fault '")
                            .append(userIds.getOrDefault(agentId, agentId)).append("': target '")
                            .append(fault.get("target")).append("' matched no method while the test ran");
                    List<Object> skipped = Json.array(fault.get("skipped"));
                    if (!skipped.isEmpty()) {
                        why.append(" (skipped:");
                        for (Object s : skipped) {
                            Map<String, Object> m = Json.object(s);
                            why.append(' ').append(m.get("method")).append(": ").append(m.get("reason")).append(';');
                        }
                        why.setLength(why.length() - 1);
                        why.append(')');
                    } else {
                        why.append(": check the class and method names (a likely typo), or load the class"
                                + " during the test");
                    }
                    problems.add(why.toString());
                }
            }
        }
        return problems;
    }

    /** Removes every fault of this test; returns the first failure, if any. */
    synchronized RuntimeException closeAll() {
        RuntimeException failure = null;
        for (Armed a : armed) {
            if (a.closed) {
                continue;
            }
            a.closed = true;
            try {
                a.handle.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        return failure;
    }

    private static String caller() {
        for (StackTraceElement e : new Throwable().getStackTrace()) {
            if (!e.getClassName().startsWith("io.faultline.")) {
                return e.getClassName() + "." + e.getMethodName() + ":" + e.getLineNumber();
            }
        }
        return "code";
    }

    @Override
    public String toString() {
        return "Faults" + ids() + " of " + testName;
    }
}
