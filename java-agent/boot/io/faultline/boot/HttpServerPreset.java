package io.faultline.boot;

/**
 * The {@code http-server} preset: incoming requests, before the application sees them. It
 * acts at the container's first call into the application's chain: {@code FilterChain.doFilter}
 * or {@code Servlet.service} (javax.servlet and jakarta.servlet both), and for the JDK's
 * {@code com.sun.net.httpserver}, {@code Filter.Chain.doFilter} or {@code HttpHandler.handle}.
 * The filters and servlets nested inside are the same request.
 *
 * <p>Only the container's first dispatch of a request is offered to the fault: the dispatches
 * a Servlet container makes later for the same request (an asynchronous servlet's
 * {@code AsyncContext.dispatch}, the error page after a failure) run outside that first call,
 * often on another thread, and would otherwise fail or delay one request twice.
 *
 * <p>The path is the request's path as the client sent it, without the query string (the
 * servlet's {@code getRequestURI}, the exchange's raw URI path): context path included,
 * percent-encoding kept, the same on every server.
 */
final class HttpServerPreset extends Preset {
    private static final int SERVLET = 1;
    private static final int EXCHANGE = 2;

    private static final String[] REQUESTS = {"javax.servlet.http.HttpServletRequest", "jakarta.servlet.http.HttpServletRequest"};
    /** The plain request type of each of {@link #REQUESTS}, which declares {@code getDispatcherType}. */
    private static final String[] PLAIN_REQUESTS = {"javax.servlet.ServletRequest", "jakarta.servlet.ServletRequest"};
    private static final String[] RESPONSES = {"javax.servlet.http.HttpServletResponse", "jakarta.servlet.http.HttpServletResponse"};
    private static final String EXCHANGE_CLASS = "com.sun.net.httpserver.HttpExchange";

    private final String path;
    private final String method;

    HttpServerPreset(Keys keys, int status, String throwName) {
        super("http-server", status, throwName);
        this.path = keys.get("path");
        this.method = keys.get("method");
    }

    @Override
    int roleOf(String name, String descriptor) {
        if (descriptor.startsWith("(Lcom/sun/net/httpserver/HttpExchange;)")) {
            return EXCHANGE;
        }
        if ((name.equals("doFilter") || name.equals("service")) && descriptor.contains("servlet/ServletRequest;")) {
            return SERVLET;
        }
        return NONE;
    }

    @Override
    String match(int role, Call call) throws Exception {
        Object request = call.arg(0);
        if (request == null) {
            return null;
        }
        String requestPath;
        String requestMethod;
        if (role == EXCHANGE) {
            java.net.URI uri = (java.net.URI) invoke(request, EXCHANGE_CLASS, "getRequestURI");
            requestPath = uri == null ? null : uri.getRawPath();
            requestMethod = (String) invoke(request, EXCHANGE_CLASS, "getRequestMethod");
        } else {
            String api = httpApi(request, REQUESTS);
            if (api == null) {
                return null; // not an HTTP request
            }
            if (!firstDispatch(request, api)) {
                return null; // the same request again (async, error): it was offered at its first dispatch
            }
            requestPath = (String) invoke(request, api, "getRequestURI");
            requestMethod = (String) invoke(request, api, "getMethod");
        }
        if (!glob(path, requestPath)) {
            return null;
        }
        if (method != null && !method.equalsIgnoreCase(requestMethod)) {
            return null;
        }
        return requestMethod + " " + requestPath;
    }

    /**
     * Whether the container dispatches the request for the first time ({@code REQUEST}), not
     * again ({@code ASYNC}, {@code ERROR}, or a {@code FORWARD} or {@code INCLUDE} outside the
     * first call). A container older than Servlet 3.0 has only first dispatches.
     */
    private static boolean firstDispatch(Object request, String api) throws Exception {
        String plain = api.equals(REQUESTS[0]) ? PLAIN_REQUESTS[0] : PLAIN_REQUESTS[1];
        Object type;
        try {
            type = invoke(request, plain, "getDispatcherType");
        } catch (NoSuchMethodException e) {
            return true;
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof AbstractMethodError) {
                return true; // a request class built for Servlet 2.5
            }
            throw e;
        }
        return type == null || "REQUEST".equals(type.toString());
    }

    /** Which of the servlet APIs (javax, jakarta) the object implements. */
    private static String httpApi(Object object, String[] apis) {
        for (String api : apis) {
            if (supertype(object.getClass(), api) != null) {
                return api;
            }
        }
        return null;
    }

    /**
     * The status with an empty body; the application's chain is skipped (the method returns).
     * A servlet response is left for the container to commit when the skipped call returns, as
     * after any servlet that sets a status and writes nothing: the answer reaches the client
     * after the injection is recorded. The JDK's exchange is sent and closed here, as a
     * handler must.
     */
    @Override
    Object respond(int role, Call call) throws Exception {
        if (role == EXCHANGE) {
            Object exchange = call.arg(0);
            java.lang.reflect.Method send = supertype(exchange.getClass(), EXCHANGE_CLASS)
                    .getMethod("sendResponseHeaders", int.class, long.class);
            send.invoke(exchange, status, -1L);
            invoke(exchange, EXCHANGE_CLASS, "close");
            return null;
        }
        Object response = call.arg(1);
        String api = httpApi(response, RESPONSES);
        if (api == null) {
            throw new IllegalStateException("the response is not an HTTP response");
        }
        invoke(response, api, "setStatus", int.class, status);
        invoke(response, api, "setContentLength", int.class, 0);
        return null;
    }
}
