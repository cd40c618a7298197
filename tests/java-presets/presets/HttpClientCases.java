package presets;

import static presets.Check.arm;
import static presets.Check.check;
import static presets.Check.injected;
import static presets.Check.injections;
import static presets.Check.report;
import static presets.Check.thrown;

import com.sun.net.httpserver.HttpServer;
import io.faultline.FaultEvent;
import io.faultline.Faultline;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The http-client preset against real clients: the JDK HttpClient (send and sendAsync),
 * HttpURLConnection, Apache HttpClient 4.5 and 5.2 (classic), OkHttp 3.13 (execute and
 * enqueue), each calling a real com.sun.net.httpserver server started in this JVM, which
 * counts the requests it really receives. Every case takes the clients to run, by name,
 * comma-separated ({@link #clients}). Run by tests/presets_http_client.rs.
 */
public final class HttpClientCases {
    public static void main(String[] args) {
        Check.run(HttpClientCases.class, args);
    }

    /** Every client's timeout for the answer (request, read, socket or response timeout). */
    static final int TIMEOUT_MS = 1000;

    // ------------------------------------------------------------------ the cases

    /**
     * Exception faults: a request to a matching URL fails with the client's own connect
     * exception (throw = "connect", the default), and another URL runs; then a POST to a URL
     * fails with the client's own timeout exception (throw = "timeout"), and a GET there runs
     * (the method key). Nothing failed reaches the server; one injection per request, naming
     * the method and URL, query included; stopping restores every client.
     */
    static void exceptions(String[] args) throws Exception {
        List<Client> clients = clients(args[0]);
        try (Server server = new Server()) {
            warmUp(clients, server);
            // One exception fault at a time: when a fault ends a call at its entry (throws or
            // answers), the faults of the same site consulted before it keep that call counted
            // as in progress on this thread (Hook.call tells them nothing), and then take the
            // thread's later calls for nested ones and let them pass.
            arm("[[fault]]", "id = \"down\"", "kind = \"exception\"", "preset = \"http-client\"",
                    "url = \"" + server.url("/down/*") + "\"");
            String down = server.url("/down/1?item=7");
            for (Client c : clients) {
                Throwable refused = thrown(() -> c.send("GET", down));
                check(injected(refused, c.connectException()), c + ": a request to /down fails with "
                        + c.connectException() + ", got " + describe(refused) + hint(c, server, "GET /down/1"));
                check(c.send("GET", server.url("/up")).is(200, "ok"), c + ": a request to /up runs");
            }
            check(server.hits("GET /down/1") == 0, "no request to /down reached the server: " + server.hits);
            List<FaultEvent> fired = injections("down");
            check(fired.size() == clients.size(), "one injection per failed request: " + fired);
            for (int i = 0; i < fired.size(); i++) {
                FaultEvent e = fired.get(i);
                check("http-client".equals(e.preset()), "the event names the preset: " + e);
                check(("GET " + down).equals(e.matched()), "the event names the method and URL, query included: " + e);
                check(clients.get(i).connectException().equals(e.exception()), "and the exception: " + e);
            }
            report("matched", fired.get(0).matched());
            Faultline.stopAll();
            for (Client c : clients) {
                check(c.send("GET", down).is(200, "ok"), c + ": after stop, /down answers");
            }
            check(server.hits("GET /down/1") == clients.size(), "and the server saw them: " + server.hits);
            check(injections("down").size() == clients.size(), "no injection after stop: " + injections("down"));

            arm("[[fault]]", "id = \"orders-timeout\"", "kind = \"exception\"", "preset = \"http-client\"",
                    "url = \"" + server.url("/orders*") + "\"", "method = \"POST\"", "throw = \"timeout\"");
            for (Client c : clients) {
                Throwable timedOut = thrown(() -> c.send("POST", server.url("/orders")));
                check(injected(timedOut, c.timeoutException()), c + ": a POST to /orders fails with "
                        + c.timeoutException() + ", got " + describe(timedOut));
                check(c.send("GET", server.url("/orders")).is(200, "ok"), c + ": a GET of /orders runs");
            }
            check(server.hits("POST /orders") == 0, "no POST to /orders reached the server: " + server.hits);
            check(server.hits("GET /orders") == clients.size(), "every GET of /orders did: " + server.hits);
            List<FaultEvent> timeouts = injections("orders-timeout");
            check(timeouts.size() == clients.size(), "one injection per POST: " + timeouts);
            for (int i = 0; i < timeouts.size(); i++) {
                check(clients.get(i).timeoutException().equals(timeouts.get(i).exception()),
                        "the event names the exception: " + timeouts.get(i));
            }
            Faultline.stopAll();
            for (Client c : clients) {
                check(c.send("POST", server.url("/orders")).is(200, "ok"), c + ": after stop, a POST to /orders runs");
            }
        }
    }

    /**
     * Respond faults: a request to a matching URL gets the status with an empty body from every
     * client (a GET, and a POST with its body), and the server receives nothing; another URL
     * runs; stopping restores every client.
     */
    static void respond(String[] args) throws Exception {
        List<Client> clients = clients(args[0]);
        try (Server server = new Server()) {
            warmUp(clients, server);
            arm("[[fault]]", "id = \"unavailable\"", "kind = \"respond\"", "preset = \"http-client\"",
                    "url = \"" + server.url("/status*") + "\"", "status = 503");
            for (Client c : clients) {
                for (String method : new String[] {"GET", "POST"}) {
                    int before = injections("unavailable").size();
                    Answer a = c.send(method, server.url("/status?verbose=1"));
                    check(a.status == 503 && a.body.isEmpty(), c + ": " + method + " /status is answered 503 with an "
                            + "empty body, got " + a + hint(c, server, method + " /status"));
                    int answered = injections("unavailable").size() - before;
                    check(answered == c.answersPerRequest(method), c + ": " + method + " answered by "
                            + c.answersPerRequest(method) + " injection(s), not " + answered);
                }
                check(c.send("GET", server.url("/up")).is(200, "ok"), c + ": /up runs");
            }
            check(server.hits("GET /status") == 0 && server.hits("POST /status") == 0,
                    "the server received nothing for /status: " + server.hits);
            for (FaultEvent e : injections("unavailable")) {
                check("http-client".equals(e.preset()) && e.matched().endsWith(server.url("/status?verbose=1")),
                        "the event names the request: " + e);
                check(Integer.valueOf(503).equals(toInt(e.get("status"))), "and the status: " + e);
            }
            Faultline.stopAll();
            int fired = injections("unavailable").size();
            for (Client c : clients) {
                check(c.send("GET", server.url("/status")).is(200, "ok"), c + ": after stop, /status answers");
            }
            check(server.hits("GET /status") == clients.size(), "the server saw them: " + server.hits);
            check(injections("unavailable").size() == fired, "no injection after stop");
        }
    }

    /**
     * Latency faults: a short delay delays each request once (one injection per request,
     * however the client nests its hooked calls), on the client's own thread for the async
     * APIs (the caller is not held); a delay longer than the client's timeout ends with the
     * client's own timeout exception, at the timeout, the request never sent; stopping
     * restores every client.
     */
    static void latency(String[] args) throws Exception {
        List<Client> clients = clients(args[0]);
        try (Server server = new Server()) {
            warmUp(clients, server);
            arm("[[fault]]", "id = \"slow\"", "kind = \"latency\"", "preset = \"http-client\"",
                    "url = \"" + server.url("/slow*") + "\"", "delay = \"300ms\"",
                    "[[fault]]", "id = \"stuck\"", "kind = \"latency\"", "preset = \"http-client\"",
                    "url = \"" + server.url("/stuck*") + "\"", "delay = \"3s\"");
            String caller = Thread.currentThread().getName();
            for (Client c : clients) {
                int before = injections("slow").size();
                long t0 = System.nanoTime();
                Answer a = c.send("GET", server.url("/slow"));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                check(a.is(200, "ok"), c + ": /slow answers, got " + a);
                List<FaultEvent> slow = injections("slow");
                check(slow.size() == before + 1, c + ": one delay per request: " + slow.subList(before, slow.size())
                        + hint(c, server, "GET /slow"));
                check(ms >= 300, c + ": the request waited the delay: " + ms + " ms");
                FaultEvent e = slow.get(before);
                check(e.delayMillis() >= 300, c + ": the event says how long: " + e);
                if (c.async()) {
                    check(!caller.equals(e.thread()), c + ": the delay held the client's thread, not the caller: " + e);
                }
            }
            check(server.hits("GET /slow") == clients.size(), "every delayed request arrived: " + server.hits);

            // Past each client's timeout: all clients at once, each on a thread of its own.
            ExecutorService pool = Executors.newFixedThreadPool(clients.size());
            List<Future<Object[]>> outcomes = new ArrayList<>();
            for (Client c : clients) {
                outcomes.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    Throwable t = thrown(() -> c.send("GET", server.url("/stuck")));
                    return new Object[] {t, (System.nanoTime() - t0) / 1_000_000};
                }));
            }
            for (int i = 0; i < clients.size(); i++) {
                Client c = clients.get(i);
                Object[] outcome = outcomes.get(i).get(30, TimeUnit.SECONDS);
                Throwable t = (Throwable) outcome[0];
                long ms = (Long) outcome[1];
                check(caused(t, c.timeoutException()), c + ": a delay past the timeout ends with "
                        + c.timeoutException() + ", got " + describe(t));
                check(ms >= TIMEOUT_MS, c + ": at the timeout of " + TIMEOUT_MS + " ms: " + ms + " ms");
            }
            pool.shutdown();
            check(server.hits("GET /stuck") == 0, "no request past the timeout was sent: " + server.hits);
            List<FaultEvent> stuck = injections("stuck");
            check(stuck.size() == clients.size(), "one injection per request: " + stuck);
            for (FaultEvent e : stuck) {
                check(Boolean.TRUE.equals(e.get("timed_out")), "the event says it timed out: " + e);
            }
            Faultline.stopAll();
            int fired = injections("slow").size();
            for (Client c : clients) {
                check(c.send("GET", server.url("/slow")).is(200, "ok"), c + ": after stop, /slow answers");
            }
            check(injections("slow").size() == fired, "no delay after stop");
        }
    }

    /** Every case, one after the other, in one JVM. */
    static void all(String[] args) throws Exception {
        exceptions(args);
        respond(args);
        latency(args);
    }

    // ------------------------------------------------------------------ helpers

    static void warmUp(List<Client> clients, Server server) throws Exception {
        // Each client's classes are loaded (and instrumented later, when the faults arm).
        for (Client c : clients) {
            check(c.send("GET", server.url("/warm-up")).is(200, "ok"), c + " answers before any fault");
        }
    }

    /** Why a request a fault should have acted on reached the server, when it did. */
    static String hint(Client c, Server server, String request) {
        if (server.hits(request) == 0) {
            return "";
        }
        String why = " (the request reached the server: the fault did not act on " + c + ")";
        if (c.name.startsWith("jdk")) {
            why += "; the JDK HttpClient's implementation is in jdk.internal.net.http, which the agent must be "
                    + "allowed to instrument (native/src/instrument/never.rs)";
        }
        return why;
    }

    static String describe(Throwable t) {
        if (t == null) {
            return "no exception";
        }
        StringBuilder s = new StringBuilder(t.toString());
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            s.append(" <- ").append(c);
        }
        return s.toString();
    }

    /** Whether {@code t} or one of its causes is of class {@code type}. */
    static boolean caused(Throwable t, String type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getClass().getName().equals(type)) {
                return true;
            }
        }
        return false;
    }

    static Integer toInt(Object v) {
        return v instanceof Number ? ((Number) v).intValue() : null;
    }

    /** A status and a body. */
    static final class Answer {
        final int status;
        final String body;

        Answer(int status, String body) {
            this.status = status;
            this.body = body == null ? "" : body;
        }

        boolean is(int s, String b) {
            return status == s && body.equals(b);
        }

        @Override
        public String toString() {
            return status + " \"" + body + "\"";
        }
    }

    /** The server: answers 200 "ok", counting the requests by "METHOD /path". */
    static final class Server implements AutoCloseable {
        final HttpServer http;
        final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();

        Server() throws IOException {
            http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            http.createContext("/", exchange -> {
                exchange.getRequestBody().readAllBytes();
                String key = exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath();
                hits.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                byte[] ok = "ok".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, ok.length);
                exchange.getResponseBody().write(ok);
                exchange.close();
            });
            http.setExecutor(Executors.newCachedThreadPool());
            http.start();
        }

        String url(String pathAndQuery) {
            return "http://127.0.0.1:" + http.getAddress().getPort() + pathAndQuery;
        }

        int hits(String request) {
            AtomicInteger n = hits.get(request);
            return n == null ? 0 : n.get();
        }

        @Override
        public void close() {
            http.stop(0);
        }
    }

    // ------------------------------------------------------------------ the clients

    /** The clients named in {@code names} (comma-separated). */
    static List<Client> clients(String names) {
        List<Client> out = new ArrayList<>();
        for (String name : names.split(",")) {
            switch (name.trim()) {
                case "jdk":
                    out.add(new JdkSync());
                    break;
                case "jdk-async":
                    out.add(new JdkAsync());
                    break;
                case "urlconnection":
                    out.add(new UrlConnection());
                    break;
                case "apache4":
                    out.add(new Apache4());
                    break;
                case "apache5":
                    out.add(new Apache5());
                    break;
                case "okhttp":
                    out.add(new OkSync());
                    break;
                case "okhttp-async":
                    out.add(new OkAsync());
                    break;
                default:
                    throw new IllegalArgumentException("no client named " + name);
            }
        }
        return out;
    }

    /** One client: sends METHOD to a URL (a POST carries a small body) and says what it got. */
    abstract static class Client {
        final String name;

        Client(String name) {
            this.name = name;
        }

        abstract Answer send(String method, String url) throws Exception;

        abstract String connectException();

        String timeoutException() {
            return "java.net.SocketTimeoutException";
        }

        /** Whether its API answers on another thread than the caller's. */
        boolean async() {
            return false;
        }

        /** Injections of a respond fault per request. */
        int answersPerRequest(String method) {
            return 1;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static final byte[] ORDER = "order=1".getBytes(StandardCharsets.UTF_8);

    static class JdkSync extends Client {
        final HttpClient client = HttpClient.newHttpClient();

        JdkSync() {
            this("jdk HttpClient.send");
        }

        JdkSync(String name) {
            super(name);
        }

        HttpRequest request(String method, String url) {
            return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMillis(TIMEOUT_MS))
                    .method(method, method.equals("POST") ? HttpRequest.BodyPublishers.ofByteArray(ORDER)
                            : HttpRequest.BodyPublishers.noBody())
                    .build();
        }

        @Override
        Answer send(String method, String url) throws Exception {
            HttpResponse<String> r = client.send(request(method, url), HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body());
        }

        @Override
        String connectException() {
            return "java.net.ConnectException";
        }

        @Override
        String timeoutException() {
            return "java.net.http.HttpTimeoutException";
        }
    }

    static final class JdkAsync extends JdkSync {
        JdkAsync() {
            super("jdk HttpClient.sendAsync");
        }

        @Override
        Answer send(String method, String url) throws Exception {
            CompletableFuture<HttpResponse<String>> future;
            try {
                future = client.sendAsync(request(method, url), HttpResponse.BodyHandlers.ofString());
            } catch (Throwable t) {
                throw new AssertionError("sendAsync threw instead of returning its future: " + t, t);
            }
            HttpResponse<String> r = future.get(30, TimeUnit.SECONDS);
            return new Answer(r.statusCode(), r.body());
        }

        @Override
        boolean async() {
            return true;
        }
    }

    static final class UrlConnection extends Client {
        UrlConnection() {
            super("HttpURLConnection");
        }

        @Override
        Answer send(String method, String url) throws Exception {
            HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
            c.setConnectTimeout(TIMEOUT_MS);
            c.setReadTimeout(TIMEOUT_MS);
            c.setRequestMethod(method);
            if (method.equals("POST")) {
                c.setDoOutput(true);
                try (OutputStream out = c.getOutputStream()) {
                    out.write(ORDER);
                }
            }
            int code = c.getResponseCode();
            InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream();
            String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (in != null) {
                in.close();
            }
            return new Answer(code, body);
        }

        @Override
        String connectException() {
            return "java.net.ConnectException";
        }

        /** A POST is answered at getOutputStream (its body goes nowhere), then at getResponseCode. */
        @Override
        int answersPerRequest(String method) {
            return method.equals("POST") ? 2 : 1;
        }
    }

    static final class Apache4 extends Client {
        final org.apache.http.impl.client.CloseableHttpClient client = org.apache.http.impl.client.HttpClients.custom()
                .setDefaultRequestConfig(org.apache.http.client.config.RequestConfig.custom()
                        .setConnectTimeout(TIMEOUT_MS).setSocketTimeout(TIMEOUT_MS).build())
                .build();

        Apache4() {
            super("Apache HttpClient 4");
        }

        @Override
        Answer send(String method, String url) throws Exception {
            org.apache.http.client.methods.HttpRequestBase request;
            if (method.equals("POST")) {
                org.apache.http.client.methods.HttpPost post = new org.apache.http.client.methods.HttpPost(url);
                post.setEntity(new org.apache.http.entity.ByteArrayEntity(ORDER));
                request = post;
            } else {
                request = new org.apache.http.client.methods.HttpGet(url);
            }
            try (org.apache.http.client.methods.CloseableHttpResponse r = client.execute(request)) {
                String body = r.getEntity() == null ? "" : org.apache.http.util.EntityUtils.toString(r.getEntity());
                return new Answer(r.getStatusLine().getStatusCode(), body);
            }
        }

        @Override
        String connectException() {
            return "org.apache.http.conn.HttpHostConnectException";
        }
    }

    static final class Apache5 extends Client {
        final org.apache.hc.client5.http.impl.classic.CloseableHttpClient client =
                org.apache.hc.client5.http.impl.classic.HttpClients.custom()
                        .setDefaultRequestConfig(org.apache.hc.client5.http.config.RequestConfig.custom()
                                .setResponseTimeout(org.apache.hc.core5.util.Timeout.ofMilliseconds(TIMEOUT_MS)).build())
                        .build();

        Apache5() {
            super("Apache HttpClient 5");
        }

        @Override
        Answer send(String method, String url) throws Exception {
            org.apache.hc.client5.http.classic.methods.HttpUriRequestBase request;
            if (method.equals("POST")) {
                request = new org.apache.hc.client5.http.classic.methods.HttpPost(url);
                request.setEntity(new org.apache.hc.core5.http.io.entity.ByteArrayEntity(ORDER, null));
            } else {
                request = new org.apache.hc.client5.http.classic.methods.HttpGet(url);
            }
            try (org.apache.hc.client5.http.impl.classic.CloseableHttpResponse r = client.execute(request)) {
                String body = r.getEntity() == null ? ""
                        : org.apache.hc.core5.http.io.entity.EntityUtils.toString(r.getEntity());
                return new Answer(r.getCode(), body);
            }
        }

        @Override
        String connectException() {
            return "org.apache.hc.client5.http.HttpHostConnectException";
        }
    }

    static class OkSync extends Client {
        final okhttp3.OkHttpClient client = new okhttp3.OkHttpClient.Builder()
                .connectTimeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                .readTimeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                .build();

        OkSync() {
            this("OkHttp Call.execute");
        }

        OkSync(String name) {
            super(name);
        }

        okhttp3.Request request(String method, String url) {
            okhttp3.RequestBody body = method.equals("POST")
                    ? okhttp3.RequestBody.create(okhttp3.MediaType.parse("application/x-www-form-urlencoded"), ORDER)
                    : null;
            return new okhttp3.Request.Builder().url(url).method(method, body).build();
        }

        @Override
        Answer send(String method, String url) throws Exception {
            try (okhttp3.Response r = client.newCall(request(method, url)).execute()) {
                return new Answer(r.code(), r.body() == null ? "" : r.body().string());
            }
        }

        @Override
        String connectException() {
            return "java.net.ConnectException";
        }
    }

    static final class OkAsync extends OkSync {
        OkAsync() {
            super("OkHttp Call.enqueue");
        }

        @Override
        Answer send(String method, String url) throws Exception {
            CompletableFuture<Answer> answer = new CompletableFuture<>();
            try {
                client.newCall(request(method, url)).enqueue(new okhttp3.Callback() {
                    @Override
                    public void onFailure(okhttp3.Call call, IOException e) {
                        answer.completeExceptionally(e);
                    }

                    @Override
                    public void onResponse(okhttp3.Call call, okhttp3.Response r) throws IOException {
                        try (okhttp3.Response closing = r) {
                            answer.complete(new Answer(r.code(), r.body() == null ? "" : r.body().string()));
                        } catch (Throwable t) {
                            answer.completeExceptionally(t);
                        }
                    }
                });
            } catch (Throwable t) {
                throw new AssertionError("enqueue threw instead of calling back: " + t, t);
            }
            return answer.get(30, TimeUnit.SECONDS);
        }

        @Override
        boolean async() {
            return true;
        }
    }
}
