package io.faultline.boot;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.TimeUnit;

/**
 * The {@code grpc} preset: gRPC calls of grpc-java, on the client (a stub's call) or the
 * server (the service's handler), matched on the full method name ({@code package.Service/Method})
 * and the side. Every class of gRPC is reached by reflection through the objects at hand.
 *
 * <p>Where each side acts, and why there:
 * <ul>
 * <li>Client: {@code ManagedChannel.newCall}, where every call of every stub begins (blocking,
 * async and future stubs, streaming or not), on the caller's thread, with the method and the
 * call's options (its deadline) in hand. Calls through a {@code ClientInterceptors.intercept}
 * channel reach the managed channel inside; the channels a managed channel uses inside itself
 * (its interceptor chain, its real channel, which also make the real call of a call delayed
 * until the name is resolved, later, on another thread) are not managed channels, so one call
 * is offered once.</li>
 * <li>Server: {@code ServerCallHandler.startCall}, the server's first call into the service for
 * an incoming call: the outermost is the interceptor chain's (or the service's own handler),
 * the ones nested inside are the same call.</li>
 * </ul>
 *
 * <p>Respond faults: a client's call is made by the channel inside a {@code Context} cancelled
 * with the status, the way gRPC fails a call whose context is cancelled before it starts:
 * nothing is sent, and the call's listener closes with the status on the call's executor (a
 * blocking stub throws {@code StatusRuntimeException}, an async stub's observer gets
 * {@code onError}). A call made later, at its {@code start} (a config selector's call, under
 * xDS), is made in that context too: the preset observes {@code ClientCall.start} of the calls
 * it answered. A server's call is closed with the status before the service sees it, as an
 * interceptor that rejects a call does; the listener returned ignores what follows.
 *
 * <p>Latency: the client's call waits on the caller's thread before it is made. A blocking
 * stub's call whose deadline (the call's or its context's) comes first ends at the deadline
 * with {@code DEADLINE_EXCEEDED}, as gRPC's own; any other call waits the whole delay and
 * then starts past its deadline, which gRPC fails with {@code DEADLINE_EXCEEDED} through the
 * call's listener (the observer's {@code onError}). The server's handler is delayed on the
 * server's executor; a client whose deadline comes first sees gRPC's own
 * {@code DEADLINE_EXCEEDED}.
 *
 * <p>Not covered: a client call that a streaming service's handler makes while its call starts
 * (inside {@code startCall}) is nested in the server's call when one fault covers both sides,
 * and is not offered; a respond fault on a call made before the channel's first name
 * resolution, on a channel whose resolver hands a config selector (xDS), lets the real call
 * be made (later, on the channel's executor, outside the failed context).
 */
final class GrpcPreset extends Preset {
    /** {@code ManagedChannel.newCall}: a client's call. */
    private static final int CLIENT_CALL = 1;
    /** {@code ClientCall.start}, observed for respond faults (calls made at their start). */
    private static final int CLIENT_START = 2;
    /** {@code ServerCallHandler.startCall}: a server's call. */
    private static final int SERVER_CALL = 3;

    private static final String CHANNEL = "io.grpc.Channel";
    private static final String CALL_OPTIONS = "io.grpc.CallOptions";
    private static final String METHOD_DESCRIPTOR = "io.grpc.MethodDescriptor";
    private static final String SERVER_CALL_CLASS = "io.grpc.ServerCall";
    private static final String HANDLER = "io.grpc.ServerCallHandler";
    private static final String STATUS = "io.grpc.Status";
    private static final String METADATA = "io.grpc.Metadata";
    private static final String CONTEXT = "io.grpc.Context";
    private static final String DEADLINE = "io.grpc.Deadline";
    private static final String SERVER_CALLS = "io.grpc.stub.ServerCalls";
    /** The executor a blocking stub gives its call: the caller's thread runs the call's callbacks. */
    private static final String BLOCKING_EXECUTOR = "io.grpc.stub.ClientCalls$ThreadlessExecutor";

    private static final String INJECTED = "injected by faultline";
    /** What a {@link #CLIENT_START} entry pushed when it attached no context. */
    private static final Object NOTHING = new Object();

    private final String method;
    private final boolean client;
    private final boolean server;
    private final boolean responds;

    /** The client calls answered here, each with the cancelled context it was made in. */
    private final WeakIdentity<Object> answered = new WeakIdentity<>();

    GrpcPreset(Keys keys, int status, String throwName) {
        super("grpc", status, throwName);
        this.method = keys.get("method");
        String side = keys.get("side");
        this.client = side == null || side.equalsIgnoreCase("client");
        this.server = side == null || side.equalsIgnoreCase("server");
        this.responds = status > 0;
    }

    @Override
    int roleOf(String name, String descriptor) {
        switch (name) {
            case "newCall":
                return client && descriptor.equals("(Lio/grpc/MethodDescriptor;Lio/grpc/CallOptions;)Lio/grpc/ClientCall;")
                        ? CLIENT_CALL : NONE;
            case "start":
                return client && responds && descriptor.equals("(Lio/grpc/ClientCall$Listener;Lio/grpc/Metadata;)V")
                        ? CLIENT_START : NONE;
            case "startCall":
                return server && descriptor.equals("(Lio/grpc/ServerCall;Lio/grpc/Metadata;)Lio/grpc/ServerCall$Listener;")
                        ? SERVER_CALL : NONE;
            default:
                return NONE;
        }
    }

    @Override
    boolean acts(int role) {
        return role != CLIENT_START;
    }

    // ------------------------------------------------------------------ reading the call

    /** "package.Service/Method (client)" or "(server)" when the method matches, else null. */
    @Override
    String match(int role, Call call) throws Exception {
        Object descriptor;
        String side;
        if (role == CLIENT_CALL) {
            descriptor = call.arg(0);
            side = " (client)";
        } else if (role == SERVER_CALL) {
            Object serverCall = call.arg(0);
            if (serverCall == null) {
                return null;
            }
            descriptor = invoke(serverCall, SERVER_CALL_CLASS, "getMethodDescriptor");
            side = " (server)";
        } else {
            return null;
        }
        if (descriptor == null) {
            return null;
        }
        String fullName = (String) invoke(descriptor, METHOD_DESCRIPTOR, "getFullMethodName");
        return fullName != null && glob(method, fullName) ? fullName + side : null;
    }

    // ------------------------------------------------------------------ latency

    /**
     * A client call: the time left to its deadline (the call's or its context's, whichever
     * comes first; at least 1 ns when it has passed), or none.
     */
    @Override
    long timeoutNanos(int role, Call call) throws Exception {
        if (role != CLIENT_CALL) {
            return 0L;
        }
        Object options = call.arg(1);
        if (options == null) {
            return 0L;
        }
        ClassLoader api = apiLoader(options, CALL_OPTIONS);
        long left = remaining(invoke(options, CALL_OPTIONS, "getDeadline"));
        Class<?> contextType = Class.forName(CONTEXT, false, api);
        Object context = contextType.getMethod("current").invoke(null);
        long inContext = remaining(contextType.getMethod("getDeadline").invoke(context));
        if (left == 0L || (inContext != 0L && inContext < left)) {
            left = inContext;
        }
        return left;
    }

    /** Whether the call is a blocking stub's (its executor is the stub's own, on the caller's thread). */
    private static boolean blocking(Call call) {
        try {
            Object options = call.arg(1);
            Object executor = options == null ? null : invoke(options, CALL_OPTIONS, "getExecutor");
            return executor != null && executor.getClass().getName().equals(BLOCKING_EXECUTOR);
        } catch (Exception e) {
            return false;
        }
    }

    /** Nanoseconds to {@code deadline} (an io.grpc.Deadline), at least 1; 0 for no deadline. */
    private static long remaining(Object deadline) throws Exception {
        if (deadline == null) {
            return 0L;
        }
        Object left = invoke(deadline, DEADLINE, "timeRemaining", TimeUnit.class, TimeUnit.NANOSECONDS);
        return Math.max(1L, (Long) left);
    }

    /**
     * A blocking stub's call: its {@code StatusRuntimeException} of {@code DEADLINE_EXCEEDED},
     * thrown where the stub waits. Any other call (async, future) is made now, past its deadline,
     * and gRPC fails it through its listener, as it would (null: the call goes on).
     */
    @Override
    Throwable timeout(int role, Call call) {
        if (!blocking(call)) {
            return null;
        }
        try {
            ClassLoader api = apiLoader(call.arg(0), METHOD_DESCRIPTOR);
            Class<?> statusType = Class.forName(STATUS, false, api);
            Object status = statusType.getField("DEADLINE_EXCEEDED").get(null);
            status = statusType.getMethod("withDescription", String.class)
                    .invoke(status, "deadline exceeded (the call waited for a latency " + INJECTED + ")");
            return (Throwable) statusType.getMethod("asRuntimeException").invoke(status);
        } catch (Exception e) {
            return new IllegalStateException("DEADLINE_EXCEEDED: deadline exceeded (" + INJECTED + ")", e);
        }
    }

    // ------------------------------------------------------------------ respond

    @Override
    Object respond(int role, Call call) throws Exception {
        if (role == CLIENT_CALL) {
            return failedClientCall(call);
        }
        if (role == SERVER_CALL) {
            return closedServerCall(call);
        }
        throw new UnsupportedOperationException("grpc cannot answer here");
    }

    /**
     * The channel's own call for the method, made inside a context cancelled with the status:
     * its start sends nothing and closes the listener with the status.
     */
    private Object failedClientCall(Call call) throws Exception {
        Object channel = call.self;
        Class<?> channelType = supertype(channel.getClass(), CHANNEL);
        ClassLoader api = channelType.getClassLoader();
        Class<?> contextType = Class.forName(CONTEXT, false, api);
        Object current = contextType.getMethod("current").invoke(null);
        Object failed = contextType.getMethod("withCancellation").invoke(current);
        failed.getClass().getMethod("cancel", Throwable.class).invoke(failed, statusException(api));
        Method newCall = channelType.getMethod("newCall", Class.forName(METHOD_DESCRIPTOR, false, api),
                Class.forName(CALL_OPTIONS, false, api));
        Object previous = contextType.getMethod("attach").invoke(failed);
        Object made;
        try {
            made = newCall.invoke(channel, call.arg(0), call.arg(1));
        } finally {
            contextType.getMethod("detach", contextType).invoke(failed, previous);
        }
        if (made == null) {
            throw new IllegalStateException("the channel made no call");
        }
        answered.put(made, failed);
        return made;
    }

    /** The start of a call answered here runs in its cancelled context. */
    @Override
    void observeEntry(int role, Call call, Depth depth) {
        Object failed = call.self == null ? null : answered.get(call.self);
        if (failed == null) {
            depth.pending.push(NOTHING);
            return;
        }
        try {
            Class<?> contextType = supertype(failed.getClass(), CONTEXT);
            Object previous = contextType.getMethod("attach").invoke(failed);
            depth.pending.push(new Object[] {contextType, failed, previous});
        } catch (Exception e) {
            depth.pending.push(NOTHING);
        }
    }

    @Override
    void observeExit(int role, Object result, Depth depth) {
        restore(depth);
    }

    @Override
    void observeThrown(int role, Depth depth) {
        restore(depth);
    }

    private static void restore(Depth depth) {
        Object top = depth.pending.poll();
        if (!(top instanceof Object[])) {
            return;
        }
        Object[] attached = (Object[]) top;
        Class<?> contextType = (Class<?>) attached[0];
        try {
            contextType.getMethod("detach", contextType).invoke(attached[1], attached[2]);
        } catch (Exception e) {
            // The context stays as the call left it.
        }
    }

    /**
     * Closes the server's call with the status before the service sees it, and returns a
     * listener that ignores the rest of the call (grpc-stub's, over an inert method).
     */
    private Object closedServerCall(Call call) throws Exception {
        Object serverCall = call.arg(0);
        Object headers = call.arg(1);
        Class<?> callType = supertype(serverCall.getClass(), SERVER_CALL_CLASS);
        ClassLoader api = callType.getClassLoader();
        Class<?> metadataType = Class.forName(METADATA, false, api);
        Object listener = inertListener(call.self, serverCall, headers, callType, metadataType);
        Class<?> statusType = Class.forName(STATUS, false, api);
        callType.getMethod("close", statusType, metadataType)
                .invoke(serverCall, status(api), metadataType.getConstructor().newInstance());
        return listener;
    }

    /**
     * A listener for {@code serverCall} that does nothing: the one grpc-stub's streaming
     * handler returns for a method whose request observer ignores everything.
     */
    private static Object inertListener(Object handler, Object serverCall, Object headers, Class<?> callType,
                                        Class<?> metadataType) throws Exception {
        Class<?> calls = stubClass(handler, callType);
        ClassLoader stub = calls.getClassLoader();
        Class<?> bidi = Class.forName(SERVER_CALLS + "$BidiStreamingMethod", false, stub);
        Class<?> observerType = Class.forName("io.grpc.stub.StreamObserver", false, stub);
        Object observer = Proxy.newProxyInstance(stub, new Class<?>[] {observerType}, new Inert(null));
        Object inertMethod = Proxy.newProxyInstance(stub, new Class<?>[] {bidi}, new Inert(observer));
        Object inertHandler = calls.getMethod("asyncBidiStreamingCall", bidi).invoke(null, inertMethod);
        Method startCall = supertype(inertHandler.getClass(), HANDLER).getMethod("startCall", callType, metadataType);
        try {
            return startCall.invoke(inertHandler, serverCall, headers);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
        }
    }

    /** grpc-stub's ServerCalls, as the service's handler or else gRPC's API sees it. */
    private static Class<?> stubClass(Object handler, Class<?> callType) throws ClassNotFoundException {
        ClassLoader[] loaders = {
            handler == null ? null : handler.getClass().getClassLoader(),
            callType.getClassLoader(),
            Thread.currentThread().getContextClassLoader(),
        };
        ClassNotFoundException missing = null;
        for (ClassLoader loader : loaders) {
            if (loader == null) {
                continue;
            }
            try {
                return Class.forName(SERVER_CALLS, false, loader);
            } catch (ClassNotFoundException e) {
                missing = e;
            }
        }
        throw missing != null ? missing : new ClassNotFoundException(SERVER_CALLS + " (grpc-stub)");
    }

    /** A request observer (or the method giving it) that ignores every call. */
    private static final class Inert implements InvocationHandler {
        /** What the method's {@code invoke} returns (the request observer); null for the observer. */
        private final Object observer;

        Inert(Object observer) {
            this.observer = observer;
        }

        @Override
        public Object invoke(Object proxy, Method m, Object[] args) {
            int count = args == null ? 0 : args.length;
            switch (m.getName()) {
                case "hashCode":
                    return count == 0 ? Integer.valueOf(System.identityHashCode(proxy)) : null;
                case "equals":
                    return count == 1 ? Boolean.valueOf(proxy == args[0]) : null;
                case "toString":
                    return count == 0 ? "an inert gRPC observer (faultline)" : null;
                case "invoke":
                    return observer;
                default:
                    return null;
            }
        }
    }

    // ------------------------------------------------------------------ statuses

    /** The class loader of gRPC's API, from an object of the API type {@code type}. */
    private static ClassLoader apiLoader(Object object, String type) {
        Class<?> c = object == null ? null : supertype(object.getClass(), type);
        return c != null ? c.getClassLoader() : Thread.currentThread().getContextClassLoader();
    }

    /** The fault's io.grpc.Status, with its description. */
    private Object status(ClassLoader api) throws Exception {
        Class<?> statusType = Class.forName(STATUS, false, api);
        Object s = statusType.getMethod("fromCodeValue", int.class).invoke(null, status);
        return statusType.getMethod("withDescription", String.class).invoke(s, INJECTED);
    }

    /**
     * The fault's status as a StatusRuntimeException (the cause the failed call's status
     * carries), its stack the application's: faultline's frames and reflection's left out.
     */
    private Object statusException(ClassLoader api) throws Exception {
        Object s = status(api);
        Throwable t = (Throwable) s.getClass().getMethod("asRuntimeException").invoke(s);
        StackTraceElement[] frames = t.getStackTrace();
        java.util.ArrayList<StackTraceElement> kept = new java.util.ArrayList<>(frames.length);
        for (StackTraceElement f : frames) {
            String c = f.getClassName();
            if (!c.startsWith("io.faultline.") && !c.startsWith("java.lang.reflect.")
                    && !c.startsWith("jdk.internal.reflect.") && !c.equals(STATUS)) {
                kept.add(f);
            }
        }
        t.setStackTrace(kept.toArray(new StackTraceElement[0]));
        return t;
    }
}
