package io.faultline;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The in-process API: load the faultline agent into this JVM and arm faults from code.
 *
 * <pre>{@code
 * Faultline.install();
 * try (FaultHandle h = Faultline.fault("exception").target("com.acme.Repo#save")
 *         .raise(SQLException.class, "injected").limit(3).arm()) {
 *     ...
 *     assertEquals(3, h.injected());
 * }
 * }</pre>
 *
 * All faults are validated and applied by the native agent, the same code that reads
 * scenario files at JVM start and serves the CLI: there is one parser and one model. Every
 * call here is one request of the agent's control protocol (the one the CLI sends over its
 * socket), passed through {@link #execute}.
 */
public final class Faultline {
    private static final Object LOCK = new Object();
    private static volatile boolean installed;

    private Faultline() {}

    /**
     * Loads the native agent into this JVM, once. The library is found through the system
     * property {@code faultline.agent}, the environment variable {@code FAULTLINE_AGENT}, or
     * next to the jar holding this class.
     *
     * @throws IllegalStateException when the agent cannot be found or loaded, saying why
     */
    public static void install() {
        install(null, false);
    }

    /**
     * Loads the agent and applies {@code options}. {@code atStartup}: the options come from
     * {@code -javaagent:} at JVM start, when a fault's classes are not loaded yet as a rule
     * (no "matches no loaded method yet" warning then).
     */
    static void install(String options, boolean atStartup) {
        synchronized (LOCK) {
            if (!installed) {
                Path library = locateAgent();
                try {
                    System.load(library.toString());
                } catch (UnsatisfiedLinkError e) {
                    throw new IllegalStateException("faultline: cannot load the native agent " + library + ": "
                            + e.getMessage() + ". Check that it was built for this platform (linux-x86_64)"
                            + " and that the JVM may load native code (on JDK 25 add --enable-native-access=ALL-UNNAMED"
                            + " to silence the warning).", e);
                }
                String problem = start0(null, false);
                if (problem != null) {
                    throw new IllegalStateException("faultline: " + problem);
                }
                installed = true;
            }
        }
        if (options != null && !options.isEmpty()) {
            String problem = start0(options, atStartup);
            if (problem != null) {
                throw new IllegalArgumentException("faultline: " + problem);
            }
        }
    }

    /** Whether the agent is loaded into this JVM. */
    public static boolean isInstalled() {
        return installed;
    }

    /** Arms every fault of a scenario file; the handle removes them on close. */
    public static FaultHandle apply(Path scenario) {
        return apply(scenario, new Arming());
    }

    /** Arms every fault of a scenario file, as {@code arming} says; the handle removes them on close. */
    public static FaultHandle apply(Path scenario, Arming arming) {
        Map<String, Object> request = request("arm");
        request.put("file", scenario.toAbsolutePath().toString());
        return arm(request, arming);
    }

    /** Arms the faults of a scenario given as TOML text; {@code origin} names it in errors. */
    public static FaultHandle applyText(String scenarioToml, String origin) {
        return applyText(scenarioToml, origin, new Arming());
    }

    /** Arms the faults of a scenario given as TOML text, as {@code arming} says. */
    public static FaultHandle applyText(String scenarioToml, String origin, Arming arming) {
        Map<String, Object> request = request("arm");
        request.put("scenario", scenarioToml);
        request.put("origin", origin);
        return arm(request, arming);
    }

    private static FaultHandle arm(Map<String, Object> request, Arming arming) {
        if (arming.scope != null) {
            request.put("scope", arming.scope);
        }
        if (arming.idSuffix != null) {
            request.put("id_suffix", arming.idSuffix);
        }
        List<String> ids = new ArrayList<>();
        for (Object armed : Json.array(call(request).get("armed"))) {
            ids.add(String.valueOf(Json.object(armed).get("id")));
        }
        return new FaultHandle(ids);
    }

    /** Starts a fault of the given kind: {@code latency}, {@code exception}, {@code hang} or {@code return}. */
    public static FaultBuilder fault(String kind) {
        return new FaultBuilder(kind);
    }

    /**
     * Marks this thread, and the threads it starts from now on, as inside {@code token}: faults
     * armed with {@code .scope(token)} fire only there. Close the result to leave the scope.
     */
    public static AutoCloseable enterScope(String token) {
        install();
        String previous = io.faultline.boot.Scope.enter(token);
        return () -> io.faultline.boot.Scope.restore(previous);
    }

    /** Removes every armed fault; the JVM runs its original bytecode again. */
    public static void stopAll() {
        if (installed) {
            stop(new ArrayList<>());
        }
    }

    /** The agent's status as JSON: every armed fault with matched methods and counters. */
    public static String status() {
        install();
        return execute(Json.write(request("status")));
    }

    /** Every event recorded so far (oldest first), as parsed objects. */
    public static List<FaultEvent> events() {
        install();
        return events(null);
    }

    /**
     * Sends one request of the agent's control protocol (a JSON object with an {@code "op"},
     * as the CLI sends over its socket) and returns the reply (a JSON object with
     * {@code "ok": true}).
     *
     * @throws IllegalArgumentException with the agent's reason when it refuses the request
     */
    public static String execute(String request) {
        install();
        String reply = execute0(request);
        if (reply == null) {
            throw new IllegalStateException("faultline: the agent gave no reply (out of memory?)");
        }
        Map<String, Object> parsed = Json.object(Json.parse(reply));
        if (!Boolean.TRUE.equals(parsed.get("ok"))) {
            throw new IllegalArgumentException(String.valueOf(parsed.get("error")));
        }
        return reply;
    }

    private static Map<String, Object> request(String op) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("op", op);
        return request;
    }

    private static Map<String, Object> call(Map<String, Object> request) {
        return Json.object(Json.parse(execute(Json.write(request))));
    }

    static List<FaultEvent> events(String faultId) {
        Map<String, Object> request = request("events");
        if (faultId != null) {
            request.put("fault", faultId);
        }
        List<FaultEvent> out = new ArrayList<>();
        for (Object line : Json.array(call(request).get("events"))) {
            out.add(FaultEvent.parse(String.valueOf(line)));
        }
        return out;
    }

    static long injected(String faultId) {
        return counter(faultId, "injected");
    }

    static long calls(String faultId) {
        return counter(faultId, "calls");
    }

    private static long counter(String faultId, String which) {
        Map<String, Object> request = request("counters");
        request.put("id", faultId);
        return Json.number(call(request).get(which));
    }

    /** Removes the given faults (all when none is given); those already gone (expired) are skipped. */
    static void stop(List<String> ids) {
        Map<String, Object> request = request("stop");
        request.put("ids", new ArrayList<Object>(ids));
        request.put("ignore_missing", Boolean.TRUE);
        call(request);
    }

    /** A fresh id for a fault built in code without one. */
    static String nextId(String kind) {
        return kind + "-" + NEXT_ID.incrementAndGet();
    }

    private static final java.util.concurrent.atomic.AtomicInteger NEXT_ID = new java.util.concurrent.atomic.AtomicInteger();

    private static Path locateAgent() {
        String explicit = System.getProperty("faultline.agent");
        if (explicit == null || explicit.isEmpty()) {
            explicit = System.getenv("FAULTLINE_AGENT");
        }
        if (explicit != null && !explicit.isEmpty()) {
            Path path = Paths.get(explicit).toAbsolutePath();
            if (!Files.isRegularFile(path)) {
                throw new IllegalStateException("faultline: the agent library " + path
                        + " (from faultline.agent / FAULTLINE_AGENT) does not exist");
            }
            return path;
        }
        Path jarDir = jarDirectory();
        if (jarDir != null) {
            Path candidate = jarDir.resolve("libfaultline_agent.so");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("faultline: cannot find libfaultline_agent.so"
                + (jarDir != null ? " next to " + jarDir : "")
                + ". Put it next to faultline-agent.jar, or set -Dfaultline.agent=/path/to/libfaultline_agent.so"
                + " or FAULTLINE_AGENT.");
    }

    private static Path jarDirectory() {
        try {
            CodeSource source = Faultline.class.getProtectionDomain().getCodeSource();
            if (source == null || source.getLocation() == null) {
                return null;
            }
            File file = new File(source.getLocation().toURI());
            return file.isFile() ? file.getParentFile().toPath().toAbsolutePath() : file.toPath().toAbsolutePath();
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }

    // The native half lives in libfaultline_agent.so (module native/src/entry/java_api.rs).
    private static native String start0(String options, boolean atStartup);

    /** One protocol request in, its reply out (both JSON). */
    private static native String execute0(String request);
}
