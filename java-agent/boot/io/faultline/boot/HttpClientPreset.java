package io.faultline.boot;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * The {@code http-client} preset: outgoing requests of the JDK HttpClient, HttpURLConnection,
 * Apache HttpClient 4 and 5 (classic), and OkHttp, matched on the full request URL (query
 * included) and the method.
 *
 * <p>Where each client acts, and why there:
 * <ul>
 * <li>The JDK HttpClient runs every exchange, {@code send} and {@code sendAsync} alike, on its
 * executor. Latency and exceptions act there, where the exchange applies its request filters
 * ({@code MultiExchange.requestFilters}, before any connection is made): an exception fails
 * the exchange as a refused connection would ({@code send} throws it, the future of
 * {@code sendAsync} completes with it), a latency delays the exchange without holding the
 * caller of {@code sendAsync}, and the client's own request timer is running. Respond faults
 * answer {@code HttpClient.send}/{@code sendAsync} at their entry (a response, or a future
 * completed with one), so nothing is sent. Both places are classes of
 * {@code jdk.internal.net.http}, which the agent must be allowed to instrument.</li>
 * <li>HttpURLConnection: {@code connect}, {@code getOutputStream} (which connect) and
 * {@code getInputStream}, {@code getResponseCode} (which send the request and read the
 * answer). The connection is the request: it is offered once, at its first call (a latency
 * at its first call that waits for the answer, as a slow server delays the answer, not the
 * connect); once failed or answered, its later calls fail or answer the same way.</li>
 * <li>Apache HttpClient 4 and 5: {@code CloseableHttpClient.doExecute}, into which every
 * {@code execute} leads.</li>
 * <li>OkHttp: {@code Interceptor.intercept}, the outermost interceptor of the call's chain,
 * which runs on the caller's thread for {@code execute} and on the dispatcher's for
 * {@code enqueue}: an exception reaches {@code Callback.onFailure}, a latency holds the
 * dispatcher thread, not the caller.</li>
 * </ul>
 *
 * <p>{@code throw = "connect"} and {@code "timeout"} become each client's own exceptions;
 * a latency longer than the client's own timeout for the answer (the JDK request timeout,
 * HttpURLConnection's read timeout, Apache's socket or response timeout, OkHttp's read or
 * call timeout) ends at that timeout with the client's timeout exception.
 */
final class HttpClientPreset extends Preset {
    private static final int JDK_SEND = 1;
    private static final int JDK_SEND_ASYNC = 2;
    private static final int JDK_EXCHANGE = 3;
    private static final int URL_CONNECT = 4;
    private static final int URL_OUTPUT = 5;
    private static final int URL_INPUT = 6;
    private static final int URL_CODE = 7;
    private static final int APACHE4 = 8;
    private static final int APACHE5 = 9;
    private static final int OKHTTP = 10;

    private static final String JDK_REQUEST = "java.net.http.HttpRequest";
    private static final String APACHE4_CONFIGURABLE = "org.apache.http.client.methods.Configurable";
    private static final String APACHE5_CONFIGURABLE = "org.apache.hc.client5.http.config.Configurable";
    private static final String OKHTTP_CHAIN = "okhttp3.Interceptor$Chain";
    private static final String OKHTTP_REQUEST = "okhttp3.Request";

    private final String url;
    private final String method;
    /** Respond faults answer at the clients' entry points; the others act inside the call. */
    private final boolean responds;

    /** What is known of each HttpURLConnection (one connection, one request). */
    private final WeakIdentity<Connection> connections = new WeakIdentity<>();

    private static final class Connection {
        /** The request was offered to the fault (it acted or let it pass). */
        boolean offered;
        /** The fault failed or answered it: its later calls fail or answer alike. */
        boolean faulted;
        String matched;
    }

    HttpClientPreset(Keys keys, int status, String throwName) {
        super("http-client", status, throwName);
        this.url = keys.get("url");
        this.method = keys.get("method");
        this.responds = status > 0;
    }

    @Override
    int roleOf(String name, String descriptor) {
        switch (name) {
            case "send":
                return responds && descriptor.startsWith("(Ljava/net/http/HttpRequest;Ljava/net/http/HttpResponse$BodyHandler;)")
                        ? JDK_SEND : NONE;
            case "sendAsync":
                return responds && descriptor.startsWith("(Ljava/net/http/HttpRequest;Ljava/net/http/HttpResponse$BodyHandler;")
                        ? JDK_SEND_ASYNC : NONE;
            case "requestFilters":
                return !responds && descriptor.equals("(Ljdk/internal/net/http/HttpRequestImpl;)V") ? JDK_EXCHANGE : NONE;
            case "connect":
                return descriptor.equals("()V") ? URL_CONNECT : NONE;
            case "getOutputStream":
                return descriptor.equals("()Ljava/io/OutputStream;") ? URL_OUTPUT : NONE;
            case "getInputStream":
                return descriptor.equals("()Ljava/io/InputStream;") ? URL_INPUT : NONE;
            case "getResponseCode":
                return descriptor.equals("()I") ? URL_CODE : NONE;
            case "doExecute":
                if (descriptor.startsWith("(Lorg/apache/http/HttpHost;")) {
                    return APACHE4;
                }
                return descriptor.startsWith("(Lorg/apache/hc/core5/http/HttpHost;") ? APACHE5 : NONE;
            case "intercept":
                return descriptor.equals("(Lokhttp3/Interceptor$Chain;)Lokhttp3/Response;") ? OKHTTP : NONE;
            default:
                return NONE;
        }
    }

    // ------------------------------------------------------------------ reading the request

    @Override
    String match(int role, Call call) throws Exception {
        switch (role) {
            case JDK_SEND:
            case JDK_SEND_ASYNC:
            case JDK_EXCHANGE: {
                Object request = call.arg(0);
                if (request == null) {
                    return null;
                }
                Object uri = invoke(request, JDK_REQUEST, "uri");
                return matching((String) invoke(request, JDK_REQUEST, "method"), uri == null ? null : uri.toString());
            }
            case URL_CONNECT:
            case URL_OUTPUT:
            case URL_INPUT:
            case URL_CODE:
                return urlConnection(role, call);
            case APACHE4:
                return matching(apache4Method(call), apache4Url(call));
            case APACHE5:
                return matching(apache5Method(call), apache5Url(call));
            case OKHTTP: {
                Object request = okhttpRequest(call);
                Object requestUrl = invoke(request, OKHTTP_REQUEST, "url");
                return matching((String) invoke(request, OKHTTP_REQUEST, "method"),
                        requestUrl == null ? null : requestUrl.toString());
            }
            default:
                return null;
        }
    }

    /** "METHOD URL" when the request matches the keys, else null. */
    private String matching(String requestMethod, String requestUrl) {
        if (requestUrl == null || !glob(url, requestUrl)) {
            return null;
        }
        if (method != null && !method.equalsIgnoreCase(requestMethod)) {
            return null;
        }
        return requestMethod + " " + requestUrl;
    }

    /**
     * A call on an HttpURLConnection. Its first matching call is the request's (for a latency,
     * its first call that waits for the answer); a connection the fault failed or answered
     * fails or answers at each later call, as a refused connection or an answered request
     * would.
     */
    private String urlConnection(int role, Call call) {
        if (!(call.self instanceof HttpURLConnection)) {
            return null;
        }
        HttpURLConnection c = (HttpURLConnection) call.self;
        Connection known = connections.get(c);
        if (known != null) {
            synchronized (known) {
                if (known.faulted) {
                    return known.matched;
                }
                if (known.offered) {
                    return null;
                }
            }
        }
        if (role == URL_OUTPUT && !c.getDoOutput()) {
            return null; // it throws ProtocolException before connecting
        }
        String requestMethod = c.getRequestMethod();
        if (role == URL_OUTPUT && "GET".equals(requestMethod)) {
            requestMethod = "POST"; // what getOutputStream makes of it
        }
        String matched = matching(requestMethod, String.valueOf(c.getURL()));
        if (matched == null) {
            return null;
        }
        // A slow server delays its answer, not the connect: a latency waits for the call that
        // reads the answer (and its read timeout).
        if ((role == URL_CONNECT || role == URL_OUTPUT) && faultKind == Fault.LATENCY) {
            return null;
        }
        Connection state = connections.getOrPut(c, new Connection());
        synchronized (state) {
            if (state.faulted) {
                return state.matched;
            }
            if (state.offered) {
                return null;
            }
            state.offered = true;
            state.matched = matched;
        }
        return matched;
    }

    private void faulted(Call call) {
        if (call.self instanceof HttpURLConnection) {
            Connection state = connections.getOrPut(call.self, new Connection());
            synchronized (state) {
                state.offered = true;
                state.faulted = true;
                if (state.matched == null) {
                    state.matched = ((HttpURLConnection) call.self).getRequestMethod() + " "
                            + ((HttpURLConnection) call.self).getURL();
                }
            }
        }
    }

    private static Object apache4Line(Call call) throws Exception {
        return invoke(call.arg(1), "org.apache.http.HttpRequest", "getRequestLine");
    }

    private static String apache4Method(Call call) throws Exception {
        return (String) invoke(apache4Line(call), "org.apache.http.RequestLine", "getMethod");
    }

    /** The request line's URI, made absolute with the target host when it is not. */
    private static String apache4Url(Call call) throws Exception {
        String uri = (String) invoke(apache4Line(call), "org.apache.http.RequestLine", "getUri");
        Object target = call.arg(0);
        if (uri == null || absolute(uri) || target == null) {
            return uri;
        }
        String host = (String) invoke(target, "org.apache.http.HttpHost", "toURI");
        return host + (uri.startsWith("/") ? "" : "/") + uri;
    }

    private static String apache5Method(Call call) throws Exception {
        return (String) invoke(call.arg(1), "org.apache.hc.core5.http.HttpRequest", "getMethod");
    }

    private static String apache5Url(Call call) throws Exception {
        Object request = call.arg(1);
        String uri;
        try {
            Object u = invoke(request, "org.apache.hc.core5.http.HttpRequest", "getUri");
            uri = u == null ? null : u.toString();
        } catch (InvocationTargetException e) {
            uri = (String) invoke(request, "org.apache.hc.core5.http.HttpRequest", "getRequestUri");
        }
        Object target = call.arg(0);
        if (uri == null || absolute(uri) || target == null) {
            return uri;
        }
        String host = (String) invoke(target, "org.apache.hc.core5.http.HttpHost", "toURI");
        return host + (uri.startsWith("/") ? "" : "/") + uri;
    }

    private static boolean absolute(String uri) {
        int colon = uri.indexOf("://");
        return colon > 0 && uri.indexOf('/') > colon;
    }

    private static Object okhttpRequest(Call call) throws Exception {
        return invoke(call.arg(0), OKHTTP_CHAIN, "request");
    }

    // ------------------------------------------------------------------ exceptions

    @Override
    Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
        if (isUrlConnection(role)) {
            faulted(call);
        }
        if (own.type() != null || throwName == null) {
            return own.build(connectMessage(role, call)); // a class of the fault's own
        }
        if ("timeout".equals(throwName)) {
            return timeoutException(role, call, own.text(timeoutMessage(role)), false);
        }
        switch (role) {
            case APACHE4: {
                ClassLoader loader = loaderOf(call.self);
                Class<?> type = Class.forName("org.apache.http.conn.HttpHostConnectException", true, loader);
                Class<?> host = Class.forName("org.apache.http.HttpHost", true, loader);
                Constructor<?> c = type.getConstructor(IOException.class, host, InetAddress[].class);
                IOException cause = new ConnectException(own.text("Connection refused"));
                Object target = host.isInstance(call.arg(0)) ? call.arg(0) : null;
                return (Throwable) c.newInstance(cause, target, new InetAddress[0]);
            }
            case APACHE5: {
                ClassLoader loader = loaderOf(call.self);
                Class<?> type = Class.forName("org.apache.hc.client5.http.HttpHostConnectException", true, loader);
                Class<?> endpoint = Class.forName("org.apache.hc.core5.net.NamedEndpoint", true, loader);
                String text = own.text(connectMessage(role, call));
                if (endpoint.isInstance(call.arg(0))) {
                    return (Throwable) type.getConstructor(String.class, endpoint).newInstance(text, call.arg(0));
                }
                return (Throwable) type.getConstructor(String.class).newInstance(text);
            }
            default:
                return new ConnectException(own.text(connectMessage(role, call)));
        }
    }

    private static boolean isUrlConnection(int role) {
        return role == URL_CONNECT || role == URL_OUTPUT || role == URL_INPUT || role == URL_CODE;
    }

    /** What each client says when the connection is refused. */
    private static String connectMessage(int role, Call call) {
        try {
            switch (role) {
                case APACHE4: {
                    Object target = call.arg(0);
                    String host = target == null ? "remote host"
                            : (String) invoke(target, "org.apache.http.HttpHost", "toHostString");
                    return "Connect to " + host + " failed: Connection refused";
                }
                case APACHE5: {
                    Object target = call.arg(0);
                    return "Connect to " + (target == null ? "remote host" : target.toString())
                            + " failed: Connection refused";
                }
                case OKHTTP: {
                    Object requestUrl = invoke(okhttpRequest(call), OKHTTP_REQUEST, "url");
                    String host = (String) invoke(requestUrl, "okhttp3.HttpUrl", "host");
                    Object port = invoke(requestUrl, "okhttp3.HttpUrl", "port");
                    return "Failed to connect to " + host + ":" + port;
                }
                default:
                    return "Connection refused";
            }
        } catch (Exception e) {
            return "Connection refused";
        }
    }

    private static String timeoutMessage(int role) {
        switch (role) {
            case JDK_SEND:
            case JDK_SEND_ASYNC:
            case JDK_EXCHANGE:
                return "request timed out";
            case URL_CONNECT:
            case URL_OUTPUT:
                return "Connect timed out";
            case OKHTTP:
                return "timeout";
            default:
                return "Read timed out";
        }
    }

    /**
     * The client's timeout exception with {@code text}: HttpTimeoutException for the JDK
     * HttpClient, InterruptedIOException for an OkHttp call timeout, SocketTimeoutException
     * (what a socket read raises) for the others.
     */
    private Throwable timeoutException(int role, Call call, String text, boolean callTimeout) {
        if (role == JDK_SEND || role == JDK_SEND_ASYNC || role == JDK_EXCHANGE) {
            try {
                Class<?> type = Class.forName("java.net.http.HttpTimeoutException", true, loaderOf(call.arg(0)));
                return (Throwable) type.getConstructor(String.class).newInstance(text);
            } catch (Exception e) {
                return new SocketTimeoutException(text);
            }
        }
        if (callTimeout) {
            return new InterruptedIOException(text);
        }
        return new SocketTimeoutException(text);
    }

    // ------------------------------------------------------------------ timeouts

    @Override
    long timeoutNanos(int role, Call call) throws Exception {
        switch (role) {
            case JDK_SEND:
            case JDK_SEND_ASYNC:
            case JDK_EXCHANGE: {
                Object t = invoke(call.arg(0), JDK_REQUEST, "timeout");
                if (t instanceof Optional && ((Optional<?>) t).isPresent()) {
                    return Math.max(0L, ((Duration) ((Optional<?>) t).get()).toNanos());
                }
                return 0L;
            }
            case URL_CONNECT:
            case URL_OUTPUT:
                return ((HttpURLConnection) call.self).getConnectTimeout() * 1_000_000L;
            case URL_INPUT:
            case URL_CODE:
                return ((HttpURLConnection) call.self).getReadTimeout() * 1_000_000L;
            case APACHE4: {
                Object config = requestConfig(call, APACHE4_CONFIGURABLE, "org.apache.http.protocol.HttpContext");
                if (config == null) {
                    return 0L;
                }
                Object ms = invoke(config, "org.apache.http.client.config.RequestConfig", "getSocketTimeout");
                return ms instanceof Integer && (Integer) ms > 0 ? (Integer) ms * 1_000_000L : 0L;
            }
            case APACHE5: {
                Object config = requestConfig(call, APACHE5_CONFIGURABLE, "org.apache.hc.core5.http.protocol.HttpContext");
                Object timeout = config == null ? null
                        : invoke(config, "org.apache.hc.client5.http.config.RequestConfig", "getResponseTimeout");
                if (timeout == null) {
                    return 0L;
                }
                Object nanos = invoke(timeout, "org.apache.hc.core5.util.TimeValue", "toNanoseconds");
                return nanos instanceof Long && (Long) nanos > 0 ? (Long) nanos : 0L;
            }
            case OKHTTP: {
                long read = okhttpReadTimeout(call);
                long whole = okhttpCallTimeout(call);
                if (read > 0 && whole > 0) {
                    return Math.min(read, whole);
                }
                return Math.max(read, whole);
            }
            default:
                return 0L;
        }
    }

    /** An Apache request's config: the request's own, else the context's, else the client's default. */
    private static Object requestConfig(Call call, String configurable, String context) throws Exception {
        Object request = call.arg(1);
        Object config = null;
        if (request != null && supertype(request.getClass(), configurable) != null) {
            config = invoke(request, configurable, "getConfig");
        }
        Object ctx = call.arg(2);
        if (config == null && ctx != null) {
            config = invoke(ctx, context, "getAttribute", String.class, "http.request-config");
        }
        if (config == null && supertype(call.self.getClass(), configurable) != null) {
            config = invoke(call.self, configurable, "getConfig");
        }
        return config;
    }

    private static long okhttpReadTimeout(Call call) throws Exception {
        Object ms = invoke(call.arg(0), OKHTTP_CHAIN, "readTimeoutMillis");
        return ms instanceof Integer && (Integer) ms > 0 ? (Integer) ms * 1_000_000L : 0L;
    }

    /** The call timeout (OkHttp 3.12 and later), or 0. */
    private static long okhttpCallTimeout(Call call) {
        try {
            Object c = invoke(call.arg(0), OKHTTP_CHAIN, "call");
            Object timeout = invoke(c, "okhttp3.Call", "timeout");
            Object nanos = invoke(timeout, "okio.Timeout", "timeoutNanos");
            return nanos instanceof Long && (Long) nanos > 0 ? (Long) nanos : 0L;
        } catch (Exception e) {
            return 0L;
        }
    }

    @Override
    Throwable timeout(int role, Call call) {
        boolean callTimeout = false;
        if (role == OKHTTP) {
            try {
                long read = okhttpReadTimeout(call);
                long whole = okhttpCallTimeout(call);
                callTimeout = whole > 0 && (read <= 0 || whole < read);
            } catch (Exception e) {
                // A read timeout, then.
            }
        }
        return timeoutException(role, call, timeoutMessage(role) + " (latency injected by faultline)", callTimeout);
    }

    // ------------------------------------------------------------------ respond

    @Override
    Object respond(int role, Call call) throws Exception {
        switch (role) {
            case JDK_SEND:
                return jdkResponse(call, false);
            case JDK_SEND_ASYNC:
                return jdkResponse(call, true);
            case URL_CONNECT:
            case URL_OUTPUT:
            case URL_INPUT:
            case URL_CODE:
                return urlConnectionAnswer(role, call);
            case APACHE4:
                return apache4Response(call);
            case APACHE5:
                return apache5Response(call);
            case OKHTTP:
                return okhttpResponse(call);
            default:
                throw new UnsupportedOperationException("http-client cannot answer here");
        }
    }

    /**
     * The connection's answer: connect does nothing, the request body goes nowhere, the
     * status is the fault's; the body is empty (an error status fails its first read, as
     * getInputStream fails for one).
     */
    private Object urlConnectionAnswer(int role, Call call) {
        faulted(call);
        switch (role) {
            case URL_CONNECT:
                return null;
            case URL_OUTPUT:
                return OutputStream.nullOutputStream();
            case URL_CODE:
                return status;
            default:
                if (status < 400) {
                    return InputStream.nullInputStream();
                }
                return new FailingStream(new IOException("Server returned HTTP response code: " + status + " for URL: "
                        + ((HttpURLConnection) call.self).getURL() + " (answered by faultline)"));
        }
    }

    /** An input stream whose reads fail with one exception. */
    private static final class FailingStream extends InputStream {
        private final IOException failure;

        FailingStream(IOException failure) {
            this.failure = failure;
        }

        @Override
        public int read() throws IOException {
            throw failure;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            throw failure;
        }
    }

    /**
     * A JDK HttpResponse with the fault's status, no headers but content-length 0, and the
     * body the caller's BodyHandler makes of an empty body; for sendAsync, a future of it.
     */
    private Object jdkResponse(Call call, boolean async) throws Exception {
        Object request = call.arg(0);
        Object handler = call.arg(1);
        ClassLoader loader = loaderOf(request);
        Class<?> responseType = Class.forName("java.net.http.HttpResponse", true, loader);
        Class<?> infoType = Class.forName("java.net.http.HttpResponse$ResponseInfo", true, loader);
        Class<?> headersType = Class.forName("java.net.http.HttpHeaders", true, loader);
        Class<?> versionType = Class.forName("java.net.http.HttpClient$Version", true, loader);
        Map<String, List<String>> fields = Collections.singletonMap("content-length", Collections.singletonList("0"));
        Object headers = headersType.getMethod("of", Map.class, BiPredicate.class).invoke(null, fields, new AllHeaders());
        Object version = null;
        for (Object v : versionType.getEnumConstants()) {
            if (((Enum<?>) v).name().equals("HTTP_1_1")) {
                version = v;
            }
        }
        JdkAnswer answer = new JdkAnswer(status, request, headers, version, invoke(request, JDK_REQUEST, "uri"),
                (String) invoke(request, JDK_REQUEST, "method"));
        Object info = Proxy.newProxyInstance(loader, new Class<?>[] {infoType}, answer);
        Object subscriber = invoke(handler, "java.net.http.HttpResponse$BodyHandler", "apply", infoType, info);
        if (!(subscriber instanceof Flow.Subscriber)) {
            throw new IllegalStateException("the BodyHandler gave no BodySubscriber");
        }
        @SuppressWarnings("unchecked")
        Flow.Subscriber<Object> s = (Flow.Subscriber<Object>) subscriber;
        s.onSubscribe(new EmptySubscription());
        s.onComplete();
        CompletionStage<?> body = (CompletionStage<?>) invoke(subscriber, "java.net.http.HttpResponse$BodySubscriber",
                "getBody");
        Responder respond = new Responder(loader, responseType, answer);
        CompletableFuture<?> bodyFuture = body.toCompletableFuture();
        if (async) {
            return bodyFuture.thenApply(respond);
        }
        return respond.apply(bodyFuture.get(10, TimeUnit.SECONDS));
    }

    /** Every header passes (HttpHeaders.of takes a filter). */
    private static final class AllHeaders implements BiPredicate<String, String> {
        @Override
        public boolean test(String name, String value) {
            return true;
        }
    }

    /** A subscription with nothing to give: the body is empty. */
    private static final class EmptySubscription implements Flow.Subscription {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
    }

    /** The response (a proxy of java.net.http.HttpResponse) once the body is made. */
    private static final class Responder implements Function<Object, Object> {
        private final ClassLoader loader;
        private final Class<?> responseType;
        private final JdkAnswer answer;

        Responder(ClassLoader loader, Class<?> responseType, JdkAnswer answer) {
            this.loader = loader;
            this.responseType = responseType;
            this.answer = answer;
        }

        @Override
        public Object apply(Object body) {
            return Proxy.newProxyInstance(loader, new Class<?>[] {responseType}, answer.withBody(body));
        }
    }

    /** The methods of HttpResponse and of its ResponseInfo. */
    private static final class JdkAnswer implements InvocationHandler {
        private final int status;
        private final Object request;
        private final Object headers;
        private final Object version;
        private final Object uri;
        private final String method;
        private final Object body;

        JdkAnswer(int status, Object request, Object headers, Object version, Object uri, String method) {
            this(status, request, headers, version, uri, method, null);
        }

        private JdkAnswer(int status, Object request, Object headers, Object version, Object uri, String method,
                          Object body) {
            this.status = status;
            this.request = request;
            this.headers = headers;
            this.version = version;
            this.uri = uri;
            this.method = method;
            this.body = body;
        }

        JdkAnswer withBody(Object b) {
            return new JdkAnswer(status, request, headers, version, uri, method, b);
        }

        @Override
        public Object invoke(Object proxy, Method m, Object[] args) {
            switch (m.getName()) {
                case "statusCode":
                    return status;
                case "headers":
                    return headers;
                case "version":
                    return version;
                case "body":
                    return body;
                case "request":
                    return request;
                case "uri":
                    return uri;
                case "previousResponse":
                case "sslSession":
                    return Optional.empty();
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return args != null && args.length == 1 && proxy == args[0];
                case "toString":
                    return "(" + method + " " + uri + ") " + status;
                default:
                    throw new UnsupportedOperationException(m.getName() + " (a response answered by faultline)");
            }
        }
    }

    /** An Apache 4 CloseableHttpResponse (a proxy of the interface over a BasicHttpResponse). */
    private Object apache4Response(Call call) throws Exception {
        ClassLoader loader = loaderOf(call.self);
        Class<?> protocolVersion = Class.forName("org.apache.http.ProtocolVersion", true, loader);
        Object http11 = Class.forName("org.apache.http.HttpVersion", true, loader).getField("HTTP_1_1").get(null);
        Class<?> basic = Class.forName("org.apache.http.message.BasicHttpResponse", true, loader);
        Object response = basic.getConstructor(protocolVersion, int.class, String.class)
                .newInstance(http11, status, reason(status));
        Object entity = Class.forName("org.apache.http.entity.ByteArrayEntity", true, loader)
                .getConstructor(byte[].class).newInstance((Object) new byte[0]);
        basic.getMethod("setEntity", Class.forName("org.apache.http.HttpEntity", true, loader)).invoke(response, entity);
        basic.getMethod("addHeader", String.class, String.class).invoke(response, "Content-Length", "0");
        Class<?> closeable = Class.forName("org.apache.http.client.methods.CloseableHttpResponse", true, loader);
        return Proxy.newProxyInstance(loader, new Class<?>[] {closeable}, new Delegate(response));
    }

    /** Calls the delegate's methods; close() has no connection to release. */
    private static final class Delegate implements InvocationHandler {
        private final Object target;

        Delegate(Object target) {
            this.target = target;
        }

        @Override
        public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
            int count = args == null ? 0 : args.length;
            switch (m.getName()) {
                case "close":
                    if (count == 0) {
                        return null;
                    }
                    break;
                case "hashCode":
                    if (count == 0) {
                        return System.identityHashCode(proxy);
                    }
                    break;
                case "equals":
                    if (count == 1 && m.getDeclaringClass() == Object.class) {
                        return proxy == args[0];
                    }
                    break;
                default:
            }
            try {
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    /** An Apache 5 CloseableHttpResponse over a BasicClassicHttpResponse (its own adapter). */
    private Object apache5Response(Call call) throws Exception {
        ClassLoader loader = loaderOf(call.self);
        Class<?> basic = Class.forName("org.apache.hc.core5.http.message.BasicClassicHttpResponse", true, loader);
        Object response = basic.getConstructor(int.class, String.class).newInstance(status, reason(status));
        Class<?> contentType = Class.forName("org.apache.hc.core5.http.ContentType", true, loader);
        Object entity = Class.forName("org.apache.hc.core5.http.io.entity.ByteArrayEntity", true, loader)
                .getConstructor(byte[].class, contentType).newInstance(new byte[0], null);
        basic.getMethod("setEntity", Class.forName("org.apache.hc.core5.http.HttpEntity", true, loader))
                .invoke(response, entity);
        basic.getMethod("addHeader", String.class, Object.class).invoke(response, "Content-Length", "0");
        Class<?> closeable = Class.forName("org.apache.hc.client5.http.impl.classic.CloseableHttpResponse", true, loader);
        Method adapt = closeable.getDeclaredMethod("adapt",
                Class.forName("org.apache.hc.core5.http.ClassicHttpResponse", true, loader));
        adapt.setAccessible(true);
        return adapt.invoke(null, response);
    }

    /** An okhttp3.Response for the chain's request, with an empty body. */
    private Object okhttpResponse(Call call) throws Exception {
        Object request = okhttpRequest(call);
        ClassLoader loader = loaderOf(request);
        Class<?> builderType = Class.forName("okhttp3.Response$Builder", true, loader);
        Object b = builderType.getConstructor().newInstance();
        builderType.getMethod("request", Class.forName(OKHTTP_REQUEST, true, loader)).invoke(b, request);
        Class<?> protocol = Class.forName("okhttp3.Protocol", true, loader);
        Object http11 = null;
        for (Object p : protocol.getEnumConstants()) {
            if (((Enum<?>) p).name().equals("HTTP_1_1")) {
                http11 = p;
            }
        }
        builderType.getMethod("protocol", protocol).invoke(b, http11);
        builderType.getMethod("code", int.class).invoke(b, status);
        builderType.getMethod("message", String.class).invoke(b, reason(status));
        builderType.getMethod("addHeader", String.class, String.class).invoke(b, "Content-Length", "0");
        Class<?> bodyType = Class.forName("okhttp3.ResponseBody", true, loader);
        Class<?> mediaType = Class.forName("okhttp3.MediaType", true, loader);
        Object body = bodyType.getMethod("create", mediaType, byte[].class).invoke(null, null, new byte[0]);
        builderType.getMethod("body", bodyType).invoke(b, body);
        long now = System.currentTimeMillis();
        builderType.getMethod("sentRequestAtMillis", long.class).invoke(b, now);
        builderType.getMethod("receivedResponseAtMillis", long.class).invoke(b, now);
        return builderType.getMethod("build").invoke(b);
    }

    private static ClassLoader loaderOf(Object object) {
        ClassLoader loader = object == null ? null : object.getClass().getClassLoader();
        return loader != null ? loader : ClassLoader.getPlatformClassLoader();
    }

    /** The usual reason phrase of a status. */
    static String reason(int status) {
        switch (status) {
            case 200:
                return "OK";
            case 201:
                return "Created";
            case 202:
                return "Accepted";
            case 204:
                return "No Content";
            case 301:
                return "Moved Permanently";
            case 302:
                return "Found";
            case 304:
                return "Not Modified";
            case 400:
                return "Bad Request";
            case 401:
                return "Unauthorized";
            case 403:
                return "Forbidden";
            case 404:
                return "Not Found";
            case 408:
                return "Request Timeout";
            case 409:
                return "Conflict";
            case 429:
                return "Too Many Requests";
            case 500:
                return "Internal Server Error";
            case 502:
                return "Bad Gateway";
            case 503:
                return "Service Unavailable";
            case 504:
                return "Gateway Timeout";
            default:
                return "";
        }
    }
}
