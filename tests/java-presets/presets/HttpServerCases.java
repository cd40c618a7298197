package presets;

import static presets.Check.arm;
import static presets.Check.check;
import static presets.Check.injections;
import static presets.Check.report;
import static presets.Check.thrown;

import io.faultline.FaultEvent;
import io.faultline.Faultline;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The http-server preset against real servers in this JVM: Jetty 9.4 (javax.servlet), Tomcat
 * 10.1 embedded (jakarta.servlet) and the JDK's com.sun.net.httpserver, each with the
 * application's servlet (or handler) behind a filter of the application's. Real requests go
 * through java.net.http.HttpClient; every case asserts what the client saw and what the
 * application ran. Every case takes the server's name (jetty, tomcat, jdk) first. Run by
 * tests/presets_http_server.rs.
 */
public final class HttpServerCases {
    public static void main(String[] args) {
        Check.run(HttpServerCases.class, args);
    }

    // ------------------------------------------------------------------ the cases

    /**
     * respond 503 on POST /checkout*: the POST gets 503 with an empty body and the application
     * (its filter, its servlet) never runs; a GET on the same path and a POST elsewhere run;
     * one injection event per answered request, naming the preset and the request (without
     * the query string); stopping restores service. Armed while the server runs, after it
     * served requests (its classes loaded and in use).
     */
    static void respondSkipsTheApp(String[] args) throws Exception {
        try (App app = App.start(args[0], "")) {
            check(app.send("GET", "/warm-up").statusCode() == 200, "the server answers before arming");
            app.reset();
            arm("[[fault]]", "id = \"checkout-down\"", "kind = \"respond\"", "preset = \"http-server\"",
                    "path = \"/checkout*\"", "method = \"POST\"", "status = 503",
                    "[[fault]]", "id = \"encoded\"", "kind = \"respond\"", "preset = \"http-server\"",
                    "path = \"/files/a%20b*\"", "status = 404");

            HttpResponse<String> down = app.send("POST", "/checkout/1");
            // Whether the event was there when the client had the answer (the JDK's exchange is
            // answered before the agent records the event: the checks below wait for it).
            report("events_at_answer", injections("checkout-down").size());
            check(down.statusCode() == 503, "POST /checkout/1 is answered 503: " + describe(down));
            check(down.body().isEmpty(), "with an empty body: " + describe(down));
            check(app.served.get() == 0, "the application's servlet never ran: " + app.served.get());
            check(app.filtered.get() == 0, "nor its filter: " + app.filtered.get());
            List<FaultEvent> fired = awaitInjections("checkout-down", 1);
            check(fired.size() == 1, "one injection for one answered request: " + fired);

            HttpResponse<String> query = app.send("POST", "/checkout/2?coupon=x");
            check(query.statusCode() == 503 && query.body().isEmpty(), "the query string does not hide the path: "
                    + describe(query));
            check(app.served.get() == 0, "the servlet still never ran");

            HttpResponse<String> get = app.send("GET", "/checkout/1");
            check(get.statusCode() == 200, "GET /checkout/1 runs (the method does not match): " + describe(get));
            check(get.body().equals("ok GET /checkout/1"), "the servlet answered: " + describe(get));
            HttpResponse<String> orders = app.send("POST", "/orders");
            check(orders.statusCode() == 200, "POST /orders runs (the path does not match): " + describe(orders));
            check(orders.body().equals("ok POST /orders"), "the servlet answered: " + describe(orders));
            check(app.served.get() == 2, "the servlet ran for the two requests that passed: " + app.served.get());
            check(app.filtered.get() == 2, "behind its filter: " + app.filtered.get());

            fired = awaitInjections("checkout-down", 2);
            check(fired.size() == 2, "exactly one injection per answered request, none for the others: " + fired);
            for (FaultEvent e : fired) {
                check("http-server".equals(e.preset()), "the event names the preset: " + e);
                check(Integer.valueOf(503).equals(asInt(e.get("status"))), "the event names the status: " + e);
            }
            check("POST /checkout/1".equals(fired.get(0).matched()), "the event names the request: " + fired.get(0));
            check("POST /checkout/2".equals(fired.get(1).matched()), "without the query string: " + fired.get(1));
            report("matched", fired.get(0).matched());

            // The path is the path as the client sent it (percent-encoding kept), on every server.
            HttpResponse<String> encoded = app.send("GET", "/files/a%20b.txt");
            check(encoded.statusCode() == 404 && encoded.body().isEmpty(), "the encoded path matches: "
                    + describe(encoded));
            List<FaultEvent> files = awaitInjections("encoded", 1);
            check(files.size() == 1 && "GET /files/a%20b.txt".equals(files.get(0).matched()),
                    "the event shows the path as sent: " + files);
            check(app.served.get() == 2, "the servlet did not run for it");

            Faultline.stopAll();
            HttpResponse<String> after = app.send("POST", "/checkout/1");
            check(after.statusCode() == 200 && after.body().equals("ok POST /checkout/1"),
                    "after stop, the POST runs: " + describe(after));
            check(app.served.get() == 3, "the servlet ran for it");
            check(injections("checkout-down").size() == 2, "and no injection: " + injections("checkout-down"));
        }
    }

    /**
     * latency 300ms on one path, the application deployed under a context path (the path key
     * is the full request path): that request takes at least the delay and runs; the filter
     * and the servlet nested in the container's chain delay it once, not once per layer; an
     * asynchronous servlet's request (the container dispatches it a second time, from another
     * thread) is delayed once too; another path has no injection. Armed before the server
     * starts (its classes instrumented as they load).
     */
    static void latencyDelaysOnePath(String[] args) throws Exception {
        arm("[[fault]]", "id = \"slow-reports\"", "kind = \"latency\"", "preset = \"http-server\"",
                "path = \"/shop/reports/*\"", "delay = \"300ms\"",
                "[[fault]]", "id = \"without-context\"", "kind = \"latency\"", "preset = \"http-server\"",
                "path = \"/reports/*\"", "delay = \"300ms\"");
        try (App app = App.start(args[0], "/shop")) {
            long t0 = System.nanoTime();
            HttpResponse<String> slow = app.send("GET", "/shop/reports/daily");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            check(slow.statusCode() == 200 && slow.body().equals("ok GET /shop/reports/daily"),
                    "the delayed request runs: " + describe(slow));
            check(ms >= 300, "it took at least the delay: " + ms + " ms");
            check(app.served.get() == 1 && app.filtered.get() == 1, "the application ran once: servlet "
                    + app.served.get() + ", filter " + app.filtered.get());
            List<FaultEvent> fired = awaitInjections("slow-reports", 1);
            check(fired.size() == 1, "the delay applied once, not once per layer: " + fired);
            check("http-server".equals(fired.get(0).preset()), "the event names the preset: " + fired.get(0));
            check("GET /shop/reports/daily".equals(fired.get(0).matched()), "and the request: " + fired.get(0));
            check(fired.get(0).delayMillis() >= 300, "and how long: " + fired.get(0));
            report("matched", fired.get(0).matched());

            t0 = System.nanoTime();
            HttpResponse<String> async = app.send("GET", "/shop/reports/async");
            ms = (System.nanoTime() - t0) / 1_000_000;
            check(async.statusCode() == 200 && async.body().equals("ok GET /shop/reports/async"),
                    "the asynchronous request runs: " + describe(async));
            check(ms >= 300, "it took at least the delay: " + ms + " ms");
            fired = awaitInjections("slow-reports", 2);
            check(fired.size() == 2, "one delay for the asynchronous request, not one per dispatch: " + fired);
            check("GET /shop/reports/async".equals(fired.get(1).matched()), "the event names it: " + fired.get(1));

            HttpResponse<String> other = app.send("GET", "/shop/orders");
            check(other.statusCode() == 200, "another path runs: " + describe(other));
            Thread.sleep(50);
            check(injections("slow-reports").size() == 2, "with no injection: " + injections("slow-reports"));
            check(injections("without-context").isEmpty(),
                    "a path without the context path matches nothing: " + injections("without-context"));
            Faultline.stopAll();
        }
    }

    /**
     * exception (the default java.io.IOException) on every POST: the servlet containers answer
     * 500 through the application's error page (an error dispatch of the same request, which
     * the fault leaves alone), the JDK server closes the exchange (no 200 reaches the client);
     * the application never runs; a GET still runs.
     */
    static void exceptionFailsTheRequest(String[] args) throws Exception {
        try (App app = App.start(args[0], "")) {
            arm("[[fault]]", "id = \"posts-broken\"", "kind = \"exception\"", "preset = \"http-server\"",
                    "method = \"POST\"");
            Object[] seen = new Object[1];
            // A client of its own: a fresh connection, which the client does not retry when it breaks.
            Throwable t = thrown(() -> seen[0] = app.freshClient().send("POST", "/checkout/1"));
            @SuppressWarnings("unchecked")
            HttpResponse<String> failed = (HttpResponse<String>) seen[0];
            if (app.kind.equals("jdk")) {
                check(t instanceof IOException || (failed != null && failed.statusCode() != 200),
                        "the JDK server closes the exchange: " + t + " " + describe(failed));
            } else {
                check(t == null, "the container answers: " + t);
                check(failed.statusCode() == 500, "with 500: " + describe(failed));
                check(failed.body().equals("error page POST"), "from the application's error page: "
                        + describe(failed));
                check(app.errorPages.get() == 1, "which ran once: " + app.errorPages.get());
            }
            report("client", t != null ? t.toString() : "HTTP " + failed.statusCode());
            check(app.served.get() == 0 && app.filtered.get() == 0, "the application never ran: servlet "
                    + app.served.get() + ", filter " + app.filtered.get());
            List<FaultEvent> fired = awaitInjections("posts-broken", 1);
            check(fired.size() == 1, "one injection: " + fired);
            check("http-server".equals(fired.get(0).preset()), "the event names the preset: " + fired.get(0));
            check("POST /checkout/1".equals(fired.get(0).matched()), "and the request: " + fired.get(0));
            check("java.io.IOException".equals(fired.get(0).exception()), "and the exception: " + fired.get(0));
            report("matched", fired.get(0).matched());

            HttpResponse<String> other = app.freshClient().send("GET", "/orders");
            check(other.statusCode() == 200 && other.body().equals("ok GET /orders"),
                    "a GET runs: " + describe(other));
            check(injections("posts-broken").size() == 1, "with no injection: " + injections("posts-broken"));
            Faultline.stopAll();
            HttpResponse<String> after = app.freshClient().send("POST", "/checkout/1");
            check(after.statusCode() == 200, "after stop, the POST runs: " + describe(after));
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The injections of {@code id}, once there are {@code n} (or after 5 s). */
    static List<FaultEvent> awaitInjections(String id, int n) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        List<FaultEvent> found = injections(id);
        while (found.size() < n && System.nanoTime() < end) {
            Thread.sleep(10);
            found = injections(id);
        }
        return found;
    }

    static Integer asInt(Object v) {
        return v instanceof Number ? ((Number) v).intValue() : null;
    }

    static String describe(HttpResponse<String> r) {
        return r == null ? "no response" : "HTTP " + r.statusCode() + " " + r.headers().map() + " body '" + r.body() + "'";
    }

    /** A client speaking HTTP/1.1 to {@code base}. */
    static final class Client {
        private final HttpClient http;
        private final String base;

        Client(String base) {
            this.base = base;
            this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
        }

        HttpResponse<String> send(String method, String path) throws IOException, InterruptedException {
            HttpRequest.BodyPublisher body = method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString("{\"item\":1}");
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                    .method(method, body).build();
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        }
    }

    /**
     * One server with the application: a servlet (or handler) answering "ok METHOD PATH"
     * behind a filter, each counting its runs.
     */
    abstract static class App implements AutoCloseable {
        final String kind;
        final AtomicInteger served = new AtomicInteger();
        final AtomicInteger filtered = new AtomicInteger();
        /** Runs of the error page (servlet containers): 500 answers through the application. */
        final AtomicInteger errorPages = new AtomicInteger();
        private Client client;
        private String base;

        App(String kind) {
            this.kind = kind;
        }

        static App start(String kind, String contextPath) throws Exception {
            App app;
            switch (kind) {
                case "jetty":
                    app = new JettyApp();
                    break;
                case "tomcat":
                    app = new TomcatApp();
                    break;
                case "jdk":
                    app = new JdkApp();
                    break;
                default:
                    throw new IllegalArgumentException("no server " + kind);
            }
            int port = app.startOn(contextPath);
            app.base = "http://127.0.0.1:" + port;
            app.client = new Client(app.base);
            report("server", app.version());
            return app;
        }

        abstract int startOn(String contextPath) throws Exception;

        abstract String version();

        HttpResponse<String> send(String method, String path) throws IOException, InterruptedException {
            return client.send(method, path);
        }

        Client freshClient() {
            return new Client(base);
        }

        void reset() {
            served.set(0);
            filtered.set(0);
        }

        static String answer(String method, String uri) {
            return "ok " + method + " " + uri;
        }
    }

    /** Jetty 9.4: a ServletContextHandler with a javax servlet and a javax filter. */
    static final class JettyApp extends App {
        private org.eclipse.jetty.server.Server server;

        JettyApp() {
            super("jetty");
        }

        @Override
        int startOn(String contextPath) throws Exception {
            System.setProperty("org.eclipse.jetty.util.log.class", "org.eclipse.jetty.util.log.StdErrLog");
            System.setProperty("org.eclipse.jetty.LEVEL", "WARN");
            server = new org.eclipse.jetty.server.Server();
            org.eclipse.jetty.server.ServerConnector connector = new org.eclipse.jetty.server.ServerConnector(server);
            connector.setHost("127.0.0.1");
            connector.setPort(0);
            server.addConnector(connector);
            org.eclipse.jetty.servlet.ServletContextHandler context = new org.eclipse.jetty.servlet.ServletContextHandler(
                    org.eclipse.jetty.servlet.ServletContextHandler.NO_SESSIONS);
            context.setContextPath(contextPath.isEmpty() ? "/" : contextPath);
            org.eclipse.jetty.servlet.ServletHolder app = new org.eclipse.jetty.servlet.ServletHolder(new javax.servlet.http.HttpServlet() {
                @Override
                protected void service(javax.servlet.http.HttpServletRequest req, javax.servlet.http.HttpServletResponse res)
                        throws IOException {
                    if (req.getRequestURI().endsWith("/async")
                            && req.getDispatcherType() == javax.servlet.DispatcherType.REQUEST) {
                        req.startAsync().dispatch(); // answered by the container's second dispatch
                        return;
                    }
                    served.incrementAndGet();
                    drain(req.getInputStream());
                    byte[] body = answer(req.getMethod(), req.getRequestURI()).getBytes(StandardCharsets.UTF_8);
                    res.setStatus(200);
                    res.setContentType("text/plain");
                    res.setContentLength(body.length);
                    res.getOutputStream().write(body);
                }
            });
            app.setAsyncSupported(true);
            context.addServlet(app, "/*");
            context.addServlet(new org.eclipse.jetty.servlet.ServletHolder(new javax.servlet.http.HttpServlet() {
                @Override
                protected void service(javax.servlet.http.HttpServletRequest req, javax.servlet.http.HttpServletResponse res)
                        throws IOException {
                    errorPages.incrementAndGet();
                    res.getWriter().print("error page " + req.getMethod());
                }
            }), "/error");
            org.eclipse.jetty.servlet.ErrorPageErrorHandler errors = new org.eclipse.jetty.servlet.ErrorPageErrorHandler();
            errors.addErrorPage(500, "/error");
            context.setErrorHandler(errors);
            org.eclipse.jetty.servlet.FilterHolder filter = new org.eclipse.jetty.servlet.FilterHolder(new javax.servlet.Filter() {
                @Override
                public void init(javax.servlet.FilterConfig config) {}

                @Override
                public void doFilter(javax.servlet.ServletRequest req, javax.servlet.ServletResponse res,
                                     javax.servlet.FilterChain chain) throws IOException, javax.servlet.ServletException {
                    filtered.incrementAndGet();
                    chain.doFilter(req, res);
                }

                @Override
                public void destroy() {}
            });
            filter.setAsyncSupported(true);
            context.addFilter(filter, "/*", java.util.EnumSet.of(javax.servlet.DispatcherType.REQUEST));
            server.setHandler(context);
            server.start();
            return connector.getLocalPort();
        }

        @Override
        String version() {
            return "Jetty " + org.eclipse.jetty.server.Server.getVersion();
        }

        @Override
        public void close() throws Exception {
            server.stop();
        }
    }

    /** Tomcat 10.1 embedded: a context with a jakarta servlet and a jakarta filter. */
    static final class TomcatApp extends App {
        private org.apache.catalina.startup.Tomcat tomcat;
        private java.nio.file.Path baseDir;
        /** Kept: java.util.logging holds its loggers weakly. */
        private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger("org.apache");

        TomcatApp() {
            super("tomcat");
        }

        @Override
        int startOn(String contextPath) throws Exception {
            QUIET.setLevel(java.util.logging.Level.WARNING);
            tomcat = new org.apache.catalina.startup.Tomcat();
            baseDir = Files.createTempDirectory("faultline-tomcat");
            tomcat.setBaseDir(baseDir.toString());
            tomcat.setPort(0);
            org.apache.catalina.connector.Connector connector = tomcat.getConnector();
            connector.setProperty("address", "127.0.0.1");
            org.apache.catalina.Context context = tomcat.addContext(contextPath, null);
            org.apache.catalina.Wrapper app = org.apache.catalina.startup.Tomcat.addServlet(context, "app",
                    new jakarta.servlet.http.HttpServlet() {
                @Override
                protected void service(jakarta.servlet.http.HttpServletRequest req,
                                       jakarta.servlet.http.HttpServletResponse res) throws IOException {
                    if (req.getRequestURI().endsWith("/async")
                            && req.getDispatcherType() == jakarta.servlet.DispatcherType.REQUEST) {
                        req.startAsync().dispatch(); // answered by the container's second dispatch
                        return;
                    }
                    served.incrementAndGet();
                    drain(req.getInputStream());
                    byte[] body = answer(req.getMethod(), req.getRequestURI()).getBytes(StandardCharsets.UTF_8);
                    res.setStatus(200);
                    res.setContentType("text/plain");
                    res.setContentLength(body.length);
                    res.getOutputStream().write(body);
                }
            });
            app.setAsyncSupported(true);
            context.addServletMapping("/*", "app");
            org.apache.catalina.startup.Tomcat.addServlet(context, "error", new jakarta.servlet.http.HttpServlet() {
                @Override
                protected void service(jakarta.servlet.http.HttpServletRequest req,
                                       jakarta.servlet.http.HttpServletResponse res) throws IOException {
                    errorPages.incrementAndGet();
                    res.getWriter().print("error page " + req.getMethod());
                }
            });
            context.addServletMapping("/error", "error");
            org.apache.tomcat.util.descriptor.web.ErrorPage page = new org.apache.tomcat.util.descriptor.web.ErrorPage();
            page.setErrorCode(500);
            page.setLocation("/error");
            context.addErrorPage(page);
            org.apache.tomcat.util.descriptor.web.FilterDef def = new org.apache.tomcat.util.descriptor.web.FilterDef();
            def.setFilterName("counting");
            def.setAsyncSupported("true");
            def.setFilter(new jakarta.servlet.Filter() {
                @Override
                public void doFilter(jakarta.servlet.ServletRequest req, jakarta.servlet.ServletResponse res,
                                     jakarta.servlet.FilterChain chain) throws IOException, jakarta.servlet.ServletException {
                    filtered.incrementAndGet();
                    chain.doFilter(req, res);
                }
            });
            context.addFilterDef(def);
            org.apache.tomcat.util.descriptor.web.FilterMap map = new org.apache.tomcat.util.descriptor.web.FilterMap();
            map.setFilterName("counting");
            map.addURLPattern("/*");
            context.addFilterMap(map);
            tomcat.start();
            return connector.getLocalPort();
        }

        @Override
        String version() {
            return org.apache.catalina.util.ServerInfo.getServerInfo();
        }

        @Override
        public void close() throws Exception {
            tomcat.stop();
            tomcat.destroy();
            try (java.util.stream.Stream<java.nio.file.Path> files = Files.walk(baseDir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** The JDK's com.sun.net.httpserver: a context with a handler and a filter. */
    static final class JdkApp extends App {
        private com.sun.net.httpserver.HttpServer server;
        private ExecutorService pool;

        JdkApp() {
            super("jdk");
        }

        @Override
        int startOn(String contextPath) throws Exception {
            server = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            com.sun.net.httpserver.HttpContext context = server.createContext(contextPath.isEmpty() ? "/" : contextPath,
                    exchange -> {
                        served.incrementAndGet();
                        drain(exchange.getRequestBody());
                        byte[] body = answer(exchange.getRequestMethod(), exchange.getRequestURI().getPath())
                                .getBytes(StandardCharsets.UTF_8);
                        exchange.getResponseHeaders().set("Content-Type", "text/plain");
                        exchange.sendResponseHeaders(200, body.length);
                        try (OutputStream out = exchange.getResponseBody()) {
                            out.write(body);
                        }
                    });
            context.getFilters().add(new com.sun.net.httpserver.Filter() {
                @Override
                public void doFilter(com.sun.net.httpserver.HttpExchange exchange, Chain chain) throws IOException {
                    filtered.incrementAndGet();
                    chain.doFilter(exchange);
                }

                @Override
                public String description() {
                    return "counting";
                }
            });
            pool = Executors.newCachedThreadPool();
            server.setExecutor(pool);
            server.start();
            return server.getAddress().getPort();
        }

        @Override
        String version() {
            return "JDK HttpServer " + System.getProperty("java.version");
        }

        @Override
        public void close() {
            server.stop(0);
            pool.shutdownNow();
        }
    }

    static void drain(InputStream in) throws IOException {
        byte[] buffer = new byte[4096];
        while (in.read(buffer) >= 0) {
            // discard
        }
    }
}
