package io.faultline;

import java.lang.instrument.Instrumentation;

/**
 * The {@code -javaagent:faultline-agent.jar=scenario=...,events=...} entry. It only loads the
 * native agent and hands it the options: the native agent does the rest, exactly as with
 * {@code -agentpath:}.
 */
public final class Agent {
    private Agent() {}

    public static void premain(String options, Instrumentation inst) {
        start(options, true);
    }

    public static void agentmain(String options, Instrumentation inst) {
        start(options, false);
    }

    private static void start(String options, boolean atStartup) {
        try {
            Faultline.install(options, atStartup);
        } catch (RuntimeException e) {
            // A bad option must not stop the application: report and run without faults.
            System.err.println(e.getMessage());
        }
    }
}
