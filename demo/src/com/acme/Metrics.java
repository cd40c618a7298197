package com.acme;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The demo's request metrics in the Prometheus text exposition format (version 0.0.4), written
 * by hand so the demo keeps needing nothing but the JDK: a counter of requests by path and
 * outcome ({@code ok} for 2xx, {@code error} otherwise) and a latency histogram by path.
 */
final class Metrics {
    /** Histogram bucket bounds, in seconds. */
    private static final double[] BOUNDS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

    private static final class Latency {
        final LongAdder[] buckets = new LongAdder[BOUNDS.length];
        final LongAdder count = new LongAdder();
        final LongAdder sumNanos = new LongAdder();

        Latency() {
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }
    }

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, Latency> latency = new ConcurrentHashMap<>();

    /** Records one answered request. */
    void record(String path, int status, long nanos) {
        String outcome = status >= 200 && status < 300 ? "ok" : "error";
        requests.computeIfAbsent(path + "\u0000" + outcome, k -> new LongAdder()).increment();
        Latency l = latency.computeIfAbsent(path, k -> new Latency());
        double seconds = nanos / 1e9;
        for (int i = 0; i < BOUNDS.length; i++) {
            if (seconds <= BOUNDS[i]) {
                l.buckets[i].increment();
            }
        }
        l.count.increment();
        l.sumNanos.add(nanos);
    }

    /** Both outcomes of a path are shown from the start, so a rate over them exists before the first error. */
    void declare(String path) {
        requests.computeIfAbsent(path + "\u0000ok", k -> new LongAdder());
        requests.computeIfAbsent(path + "\u0000error", k -> new LongAdder());
        latency.computeIfAbsent(path, k -> new Latency());
    }

    String exposition() {
        StringBuilder out = new StringBuilder();
        out.append("# HELP demo_requests_total Requests answered, by path and outcome (ok: 2xx, error: anything else).\n");
        out.append("# TYPE demo_requests_total counter\n");
        new java.util.TreeMap<>(requests).forEach((key, n) -> {
            String[] parts = key.split("\u0000", 2);
            out.append("demo_requests_total{path=\"").append(parts[0]).append("\",outcome=\"").append(parts[1])
                    .append("\"} ").append(n.sum()).append('\n');
        });
        out.append("# HELP demo_request_duration_seconds Time to answer a request, by path.\n");
        out.append("# TYPE demo_request_duration_seconds histogram\n");
        new java.util.TreeMap<>(latency).forEach((path, l) -> {
            // Read the count first: buckets counted after it can only be larger, never smaller than +Inf's.
            long count = l.count.sum();
            for (int i = 0; i < BOUNDS.length; i++) {
                out.append("demo_request_duration_seconds_bucket{path=\"").append(path).append("\",le=\"")
                        .append(format(BOUNDS[i])).append("\"} ").append(Math.min(l.buckets[i].sum(), count)).append('\n');
            }
            out.append("demo_request_duration_seconds_bucket{path=\"").append(path).append("\",le=\"+Inf\"} ")
                    .append(count).append('\n');
            out.append("demo_request_duration_seconds_sum{path=\"").append(path).append("\"} ")
                    .append(String.format(Locale.ROOT, "%.6f", l.sumNanos.sum() / 1e9)).append('\n');
            out.append("demo_request_duration_seconds_count{path=\"").append(path).append("\"} ").append(count).append('\n');
        });
        return out.toString();
    }

    private static String format(double bound) {
        return bound == Math.rint(bound) ? String.format(Locale.ROOT, "%.1f", bound) : Double.toString(bound);
    }
}
