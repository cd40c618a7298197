package com.acme;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The faultline demo order service.
 * <pre>
 *   DemoMain run   [--orders N] [--concurrency C] [--timeout D] [--inventory cached|warehouse]
 *   DemoMain serve [--port P] [--timeout D] [--inventory cached|warehouse] [--tls-keystore FILE.p12 --tls-password PW]
 * </pre>
 */
public final class DemoMain {
    private static final String USAGE =
            "usage: DemoMain run [--orders N] [--concurrency C] [--timeout D] [--inventory cached|warehouse]\n"
          + "       DemoMain serve [--port P] [--timeout D] [--inventory cached|warehouse]"
          + " [--tls-keystore FILE.p12 --tls-password PW]\n"
          + "  run    places N orders (default 200), at most C in flight (default 4), prints a summary\n"
          + "  serve  HTTP on 127.0.0.1:P (default 8080; 0 = any free port): /checkout, /health, /metrics;\n"
          + "         HTTPS instead with the key and certificate of a PKCS#12 keystore\n"
          + "  --timeout D   per-order wait, e.g. 2s or 500ms (default 2s)";
    private static final String[] ITEMS = {"widget", "gadget", "gizmo", "sprocket"};

    private DemoMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            (args.length == 0 ? System.err : System.out).println(USAGE);
            System.exit(args.length == 0 ? 2 : 0);
        }
        Map<String, String> options;
        try {
            options = parseOptions(args);
            switch (args[0]) {
                case "run":
                    run(intOption(options, "orders", 200, 0), intOption(options, "concurrency", 4, 1),
                            timeoutMillis(options), service(options));
                    return;
                case "serve":
                    serve(intOption(options, "port", 8080, 0), timeoutMillis(options), service(options), tls(options));
                    return;
                default:
                    throw new IllegalArgumentException("unknown mode: " + args[0]);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
    }

    // ---------------------------------------------------------------- run

    static void run(int orders, int concurrency, long timeoutMillis, OrderService service) throws InterruptedException {
        String[] status = new String[orders];
        String[] reason = new String[orders];
        long[] latency = new long[orders];
        int[] attempts = new int[orders];
        Semaphore inFlight = new Semaphore(concurrency);
        CountDownLatch done = new CountDownLatch(orders);

        warmUp();
        service.payments().warmUp();
        long begin = System.nanoTime();
        for (int i = 0; i < orders; i++) {
            final int n = i;
            inFlight.acquire();
            long t0 = System.nanoTime();
            try {
                service.submit(ITEMS[i % ITEMS.length], 1 + i % 3, 999 + 500L * (i % 5))
                        .orTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
                        .whenComplete((r, ex) -> {
                            latency[n] = System.nanoTime() - t0;
                            if (r != null) {
                                status[n] = r.status().name();
                                reason[n] = r.reason();
                                attempts[n] = r.paymentAttempts();
                            } else {
                                status[n] = Receipt.Status.FAILED.name();
                                reason[n] = describeFailure(ex, timeoutMillis);
                            }
                            inFlight.release();
                            done.countDown();
                        });
            } catch (RejectedExecutionException e) {
                latency[n] = System.nanoTime() - t0;
                status[n] = Receipt.Status.FAILED.name();
                reason[n] = OrderService.describe(e);
                inFlight.release();
                done.countDown();
            }
        }
        done.await();
        long total = System.nanoTime() - begin;
        service.shutdown();

        Map<String, Integer> byStatus = new HashMap<>();
        Map<String, Integer> reasons = new TreeMap<>();
        int retries = 0;
        for (int i = 0; i < orders; i++) {
            byStatus.merge(status[i], 1, Integer::sum);
            if (reason[i] != null) {
                reasons.merge(reason[i], 1, Integer::sum);
            }
            retries += Math.max(0, attempts[i] - 1);
        }
        long[] sorted = latency.clone();
        Arrays.sort(sorted);

        PrintStream out = System.out;
        out.println("orders: " + orders);
        out.println("ok: " + byStatus.getOrDefault("OK", 0));
        out.println("payment_pending: " + byStatus.getOrDefault("PAYMENT_PENDING", 0));
        out.println("failed: " + byStatus.getOrDefault("FAILED", 0));
        out.println("payment_retries: " + retries);
        out.println("p50_ms: " + ms(percentile(sorted, 50)));
        out.println("p99_ms: " + ms(percentile(sorted, 99)));
        out.println("max_ms: " + ms(sorted.length == 0 ? 0 : sorted[sorted.length - 1]));
        out.println("total_ms: " + ms(total));
        List<Map.Entry<String, Integer>> entries = new ArrayList<>(reasons.entrySet());
        entries.sort((a, b) -> b.getValue() - a.getValue()); // stable: ties stay alphabetical
        for (Map.Entry<String, Integer> e : entries) {
            out.println("failure: " + e.getKey() + " (x" + e.getValue() + ")");
        }
        out.flush();
        System.exit(0); // worker threads may still be held by an injected hang
    }

    /**
     * Loads the JDK machinery the first orders would otherwise pay for (lambda bootstrap, CompletableFuture
     * timeouts, formatting), without calling any com.acme method: faults with after/limit count those calls.
     */
    private static void warmUp() {
        CompletableFuture.supplyAsync(() -> ms(1), Runnable::run)
                .orTimeout(1, TimeUnit.SECONDS).whenComplete((r, ex) -> { }).join();
        new java.util.concurrent.ConcurrentHashMap<String, Object>().computeIfAbsent("warm", k -> k);
    }

    /** Nearest-rank percentile of sorted values. */
    static long percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
    }

    static String describeFailure(Throwable ex, long timeoutMillis) {
        while ((ex instanceof java.util.concurrent.CompletionException || ex instanceof ExecutionException)
                && ex.getCause() != null) {
            ex = ex.getCause();
        }
        if (ex instanceof TimeoutException) {
            return "java.util.concurrent.TimeoutException: no receipt within " + timeoutMillis + " ms";
        }
        return OrderService.describe(ex);
    }

    // ---------------------------------------------------------------- serve

    static void serve(int port, long timeoutMillis, OrderService service, SSLContext tls) throws IOException {
        Health health = new Health();
        Metrics metrics = new Metrics();
        metrics.declare("/checkout");
        metrics.declare("/health");
        service.payments().warmUp();
        // The JDK's HTTP server otherwise delays small keep-alive responses by ~40 ms (Nagle).
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port);
        HttpServer server;
        if (tls == null) {
            server = HttpServer.create(address, 128);
        } else {
            HttpsServer https = HttpsServer.create(address, 128);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        }
        ThreadPoolExecutor http = new ThreadPoolExecutor(16, 16, 0L, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), new OrderExecutor.NamedThreads("http-"));
        server.setExecutor(http);
        int[] sequence = {0};
        server.createContext("/checkout", exchange -> {
            long started = System.nanoTime();
            try {
                if (!exchange.getRequestURI().getPath().equals("/checkout")) {
                    respond(exchange, 404, "text/plain", "not found\n");
                    return;
                }
                String method = exchange.getRequestMethod();
                if (!method.equals("GET") && !method.equals("POST")) {
                    exchange.getResponseHeaders().set("Allow", "GET, POST");
                    respond(exchange, 405, "text/plain", "method not allowed\n");
                    return;
                }
                drain(exchange.getRequestBody());
                int n;
                synchronized (sequence) {
                    n = sequence[0]++;
                }
                Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
                String item;
                int qty;
                long amount;
                try {
                    item = query.getOrDefault("item", ITEMS[n % ITEMS.length]);
                    qty = Integer.parseInt(query.getOrDefault("qty", String.valueOf(1 + n % 3)));
                    amount = Long.parseLong(query.getOrDefault("amount", String.valueOf(999 + 500L * (n % 5))));
                    if (item.isEmpty() || qty <= 0 || amount <= 0) {
                        throw new NumberFormatException();
                    }
                } catch (NumberFormatException e) {
                    respond(exchange, 400, "application/json", "{\"status\":\"BAD_REQUEST\",\"reason\":"
                            + "\"item must be non-empty, qty and amount positive integers\"}\n");
                    return;
                }
                checkout(exchange, service, health, item, qty, amount, timeoutMillis);
            } finally {
                exchange.close();
                metrics.record("/checkout", exchange.getResponseCode(), System.nanoTime() - started);
            }
        });
        server.createContext("/health", exchange -> {
            long started = System.nanoTime();
            try {
                drain(exchange.getRequestBody());
                if (!exchange.getRequestURI().getPath().equals("/health")) {
                    respond(exchange, 404, "text/plain", "not found\n");
                    return;
                }
                String problem = health.problem();
                respond(exchange, problem == null ? 200 : 503, "text/plain", problem == null ? "ok\n" : problem + "\n");
            } finally {
                exchange.close();
                metrics.record("/health", exchange.getResponseCode(), System.nanoTime() - started);
            }
        });
        server.createContext("/metrics", exchange -> {
            try {
                drain(exchange.getRequestBody());
                if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                    respond(exchange, 404, "text/plain", "not found\n");
                    return;
                }
                respond(exchange, 200, "text/plain; version=0.0.4", metrics.exposition());
            } finally {
                exchange.close();
            }
        });
        server.createContext("/", exchange -> {
            try {
                drain(exchange.getRequestBody());
                respond(exchange, 404, "text/plain", "not found\n");
            } finally {
                exchange.close();
            }
        });

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop(0);
            http.shutdownNow();
            service.shutdown();
            System.err.println("stopped after " + health.total() + " orders");
        }, "demo-shutdown"));
        server.start();
        System.out.println("listening on 127.0.0.1:" + server.getAddress().getPort() + (tls == null ? "" : " (https)"));
        System.out.flush();
        // The server's dispatcher thread keeps the JVM alive until SIGTERM/SIGINT runs the hook above.
    }

    private static void checkout(HttpExchange exchange, OrderService service, Health health,
                                 String item, int qty, long amount, long timeoutMillis) throws IOException {
        long t0 = System.nanoTime();
        CompletableFuture<Receipt> future;
        try {
            future = service.submit(item, qty, amount);
        } catch (RejectedExecutionException e) {
            health.record(false);
            respond(exchange, 503, "application/json", json("REJECTED", -1, OrderService.describe(e), t0));
            return;
        }
        try {
            Receipt r = future.get(timeoutMillis, TimeUnit.MILLISECONDS);
            boolean failed = r.status() == Receipt.Status.FAILED;
            health.record(!failed);
            respond(exchange, failed ? 503 : 200, "application/json", json(r.status().name(), r.orderId(), r.reason(), t0));
        } catch (TimeoutException e) {
            future.cancel(true);
            health.record(false);
            respond(exchange, 504, "application/json",
                    json("TIMEOUT", -1, describeFailure(e, timeoutMillis), t0));
        } catch (ExecutionException e) {
            health.record(false);
            respond(exchange, 503, "application/json", json("FAILED", -1, describeFailure(e, timeoutMillis), t0));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            respond(exchange, 503, "application/json", json("FAILED", -1, "interrupted", t0));
        }
    }

    /** {"status":"OK","ms":1.2,"order":7} plus "reason" when there is one. */
    private static String json(String status, long orderId, String reason, long t0) {
        StringBuilder sb = new StringBuilder("{\"status\":\"").append(status).append("\",\"ms\":")
                .append(ms(System.nanoTime() - t0));
        if (orderId > 0) {
            sb.append(",\"order\":").append(orderId);
        }
        if (reason != null) {
            sb.append(",\"reason\":\"");
            for (char c : reason.toCharArray()) {
                if (c == '"' || c == '\\') {
                    sb.append('\\').append(c);
                } else if (c < 0x20) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
            sb.append('"');
        }
        return sb.append("}\n").toString();
    }

    private static void respond(HttpExchange exchange, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
        exchange.sendResponseHeaders(code, bytes.length);
        try (OutputStream os = exchange.getResponseBody()) {
            os.write(bytes);
        }
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buffer = new byte[4096];
        while (in.read(buffer) >= 0) {
            // discard
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> params = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            try {
                params.put(URLDecoder.decode(key, "UTF-8"), URLDecoder.decode(value, "UTF-8"));
            } catch (java.io.UnsupportedEncodingException | IllegalArgumentException e) {
                throw new NumberFormatException(); // answered as a bad request
            }
        }
        return params;
    }

    /** Health = none of the last {@link #WINDOW} orders of the last {@link #MAX_AGE_NANOS} failed. */
    static final class Health {
        static final int WINDOW = 20;
        static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(5);
        private final Deque<long[]> recent = new ArrayDeque<>(); // {time, ok ? 1 : 0}
        private long total;

        synchronized void record(boolean ok) {
            total++;
            recent.addLast(new long[] {System.nanoTime(), ok ? 1 : 0});
            if (recent.size() > WINDOW) {
                recent.removeFirst();
            }
        }

        synchronized String problem() {
            long now = System.nanoTime();
            int seen = 0;
            int failed = 0;
            for (long[] r : recent) {
                if (now - r[0] <= MAX_AGE_NANOS) {
                    seen++;
                    failed += r[1] == 0 ? 1 : 0;
                }
            }
            return failed == 0 ? null : "unhealthy: " + failed + " of the last " + seen + " orders failed";
        }

        synchronized long total() {
            return total;
        }
    }

    // ---------------------------------------------------------------- options

    private static Map<String, String> parseOptions(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new IllegalArgumentException("unexpected argument: " + arg);
            }
            String key = arg.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
            boolean known = args[0].equals("run")
                    ? Arrays.asList("orders", "concurrency", "timeout", "inventory").contains(key)
                    : Arrays.asList("port", "timeout", "inventory", "tls-keystore", "tls-password").contains(key);
            if (!known) {
                throw new IllegalArgumentException("unknown option for " + args[0] + ": --" + key);
            }
            options.put(key, value);
        }
        return options;
    }

    private static int intOption(Map<String, String> options, String key, int def, int min) {
        String value = options.get(key);
        if (value == null) {
            return def;
        }
        try {
            int n = Integer.parseInt(value);
            if (n < min || (key.equals("port") && n > 65535)) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + ": bad value " + value);
        }
    }

    private static long timeoutMillis(Map<String, String> options) {
        String value = options.getOrDefault("timeout", "2s").trim();
        try {
            long millis;
            if (value.endsWith("ms")) {
                millis = Long.parseLong(value.substring(0, value.length() - 2));
            } else if (value.endsWith("s")) {
                millis = Math.multiplyExact(Long.parseLong(value.substring(0, value.length() - 1)), 1000L);
            } else {
                millis = Long.parseLong(value);
            }
            if (millis <= 0) {
                throw new NumberFormatException();
            }
            return millis;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("--timeout: bad duration " + value + " (e.g. 2s, 500ms)");
        }
    }

    /** The TLS context of {@code --tls-keystore}, or null for plain HTTP. */
    private static SSLContext tls(Map<String, String> options) {
        String file = options.get("tls-keystore");
        String password = options.get("tls-password");
        if (file == null) {
            if (password != null) {
                throw new IllegalArgumentException("--tls-password goes with --tls-keystore");
            }
            return null;
        }
        char[] secret = (password == null ? "" : password).toCharArray();
        try (InputStream in = Files.newInputStream(Paths.get(file))) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, secret);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, secret);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("--tls-keystore " + file + ": " + e.getMessage());
        }
    }

    private static OrderService service(Map<String, String> options) {
        String kind = options.getOrDefault("inventory", "cached");
        Inventory inventory;
        if (kind.equals("cached")) {
            inventory = new CachedInventory();
        } else if (kind.equals("warehouse")) {
            inventory = new WarehouseInventory();
        } else {
            throw new IllegalArgumentException("--inventory: cached or warehouse, not " + kind);
        }
        return new OrderService(inventory, new PaymentClient(), new OrderRepository());
    }
}
