package presets;

import static presets.Check.arm;
import static presets.Check.check;
import static presets.Check.injections;
import static presets.Check.report;

import io.faultline.FaultEvent;
import io.faultline.Faultline;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.InternalConfigSelector;
import io.grpc.LoadBalancer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.NameResolver;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.inprocess.InProcessSocketAddress;
import io.grpc.internal.ClientTransportFactory;
import io.grpc.internal.ManagedChannelImplBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The grpc preset against real grpc-java (Debian's 1.41): a server and its clients in one JVM
 * over the in-process transport, a service defined with MethodDescriptor and a string
 * marshaller, called through grpc-stub's ClientCalls (blocking and async) and served through
 * ServerCalls. Every case asserts what the client and the service's code observed. Run by
 * tests/presets_grpc.rs.
 */
public final class GrpcCases {
    public static void main(String[] args) {
        Check.run(GrpcCases.class, args);
    }

    static final String SERVICE = "shop.Inventory";
    static final String RESERVE_NAME = SERVICE + "/Reserve";

    static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<String>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream in) {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static MethodDescriptor<String, String> unary(String name) {
        return MethodDescriptor.<String, String>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
                .setRequestMarshaller(TEXT)
                .setResponseMarshaller(TEXT)
                .build();
    }

    static final MethodDescriptor<String, String> RESERVE = unary("Reserve");
    static final MethodDescriptor<String, String> PING = unary("Ping");
    /** Bidirectional streaming: its handler runs when the call starts (inside startCall). */
    static final MethodDescriptor<String, String> WATCH = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Watch"))
            .setRequestMarshaller(TEXT)
            .setResponseMarshaller(TEXT)
            .build();

    /** The service: what reached its handlers, and the calls that reached the server at all. */
    static final class Shop implements AutoCloseable {
        final String name;
        final Server server;
        final ManagedChannel channel;
        final AtomicInteger reserved = new AtomicInteger();
        final AtomicInteger pinged = new AtomicInteger();
        final AtomicInteger watched = new AtomicInteger();
        /** Calls of Reserve that reached the server (its interceptor, before the handler). */
        final AtomicInteger reserveArrived = new AtomicInteger();

        Shop(String name) throws IOException {
            this.name = name;
            ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
                    .addMethod(RESERVE, ServerCalls.asyncUnaryCall((String item, StreamObserver<String> out) -> {
                        reserved.incrementAndGet();
                        out.onNext("reserved " + item);
                        out.onCompleted();
                    }))
                    .addMethod(PING, ServerCalls.asyncUnaryCall((String text, StreamObserver<String> out) -> {
                        pinged.incrementAndGet();
                        out.onNext("pong " + text);
                        out.onCompleted();
                    }))
                    .addMethod(WATCH, ServerCalls.asyncBidiStreamingCall((StreamObserver<String> out) -> {
                        watched.incrementAndGet();
                        return new StreamObserver<String>() {
                            @Override
                            public void onNext(String item) {
                                out.onNext("watching " + item);
                            }

                            @Override
                            public void onError(Throwable t) {}

                            @Override
                            public void onCompleted() {
                                out.onCompleted();
                            }
                        };
                    }))
                    .build();
            ServerInterceptor arrivals = new ServerInterceptor() {
                @Override
                public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                                  ServerCallHandler<Q, A> next) {
                    if (call.getMethodDescriptor().getFullMethodName().equals(RESERVE_NAME)) {
                        reserveArrived.incrementAndGet();
                    }
                    return next.startCall(call, headers);
                }
            };
            server = InProcessServerBuilder.forName(name).addService(ServerInterceptors.intercept(service, arrivals))
                    .build().start();
            channel = InProcessChannelBuilder.forName(name).build();
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            server.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    static String blocking(Channel channel, MethodDescriptor<String, String> method, String request) {
        return ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT, request);
    }

    static String blocking(Channel channel, MethodDescriptor<String, String> method, String request, long deadlineMillis) {
        return ClientCalls.blockingUnaryCall(channel, method,
                CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS), request);
    }

    /** The status a blocking call failed with; null when it succeeded. */
    static Status blockingStatus(Channel channel, MethodDescriptor<String, String> method, long deadlineMillis) {
        try {
            if (deadlineMillis > 0) {
                blocking(channel, method, "x", deadlineMillis);
            } else {
                blocking(channel, method, "x");
            }
            return null;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    /** An async stub's call: what its observer got (the status of onError, or OK with the answer). */
    static final class Async {
        final CompletableFuture<Status> outcome = new CompletableFuture<>();
        volatile String answer;
        /** Whether the call was handed to the observer only (the stub's method itself did not throw). */
        final boolean returned;

        Async(Channel channel, MethodDescriptor<String, String> method, long deadlineMillis) {
            CallOptions options = deadlineMillis > 0
                    ? CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS) : CallOptions.DEFAULT;
            boolean ok = true;
            try {
                ClientCalls.asyncUnaryCall(channel.newCall(method, options), "y", new StreamObserver<String>() {
                    @Override
                    public void onNext(String value) {
                        answer = value;
                    }

                    @Override
                    public void onError(Throwable t) {
                        outcome.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        outcome.complete(Status.OK);
                    }
                });
            } catch (RuntimeException e) {
                ok = false;
                outcome.complete(Status.fromThrowable(e));
            }
            returned = ok;
        }

        Status status() throws Exception {
            return outcome.get(10, TimeUnit.SECONDS);
        }
    }

    /** A bidirectional call of Watch sending "w" then completing: its answers, then how it ended. */
    static String watch(Channel channel) throws Exception {
        CompletableFuture<String> outcome = new CompletableFuture<>();
        StringBuilder answers = new StringBuilder();
        StreamObserver<String> requests = ClientCalls.asyncBidiStreamingCall(channel.newCall(WATCH, CallOptions.DEFAULT),
                new StreamObserver<String>() {
                    @Override
                    public void onNext(String value) {
                        synchronized (answers) {
                            answers.append(value).append(';');
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        Status s = Status.fromThrowable(t);
                        outcome.complete(s.getCode() + ": " + s.getDescription());
                    }

                    @Override
                    public void onCompleted() {
                        outcome.complete("OK");
                    }
                });
        requests.onNext("w");
        requests.onCompleted();
        String end = outcome.get(10, TimeUnit.SECONDS);
        synchronized (answers) {
            return answers + end;
        }
    }

    static boolean injectedStatus(Status s, Status.Code code) {
        return s != null && s.getCode() == code && String.valueOf(s.getDescription()).contains("injected by faultline");
    }

    /** No fault warned (a call the preset could not read or answer). */
    static void noWarnings() {
        for (FaultEvent e : Faultline.events()) {
            check(!"warning".equals(e.kind()), "no warning: " + e);
        }
    }

    static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** A client interceptor that adds a header and sees how the call closed. */
    static final class Watching implements ClientInterceptor {
        final AtomicInteger closed = new AtomicInteger();
        volatile Status lastStatus;

        @Override
        public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<Q, A>(next.newCall(method, options)) {
                @Override
                public void start(ClientCall.Listener<A> listener, Metadata headers) {
                    headers.put(Metadata.Key.of("x-shop", Metadata.ASCII_STRING_MARSHALLER), "1");
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<A>(listener) {
                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            lastStatus = status;
                            closed.incrementAndGet();
                            super.onClose(status, trailers);
                        }
                    }, headers);
                }
            };
        }
    }

    /**
     * A channel to the shop whose name resolver hands a config selector (as xDS does): the
     * channel then makes each call's real call at its start, not at newCall. Built from
     * grpc-core's channel builder and the in-process transport (its internals, test only).
     */
    @SuppressWarnings("deprecation") // nameResolverFactory: the way to hand a channel a resolver in 1.41
    static ManagedChannel selectorChannel(String name) throws Exception {
        java.lang.reflect.Method empty =
                Class.forName("io.grpc.internal.ManagedChannelServiceConfig").getDeclaredMethod("empty");
        empty.setAccessible(true);
        Object config = empty.invoke(null);
        InternalConfigSelector selector = new InternalConfigSelector() {
            @Override
            public Result selectConfig(LoadBalancer.PickSubchannelArgs args) {
                return Result.newBuilder().setConfig(config).build();
            }
        };
        NameResolver.Factory resolvers = new NameResolver.Factory() {
            @Override
            public NameResolver newNameResolver(URI uri, NameResolver.Args args) {
                return new NameResolver() {
                    @Override
                    public String getServiceAuthority() {
                        return name;
                    }

                    @Override
                    public void start(Listener2 listener) {
                        listener.onResult(ResolutionResult.newBuilder()
                                .setAddresses(Collections.singletonList(
                                        new EquivalentAddressGroup(new InProcessSocketAddress(name))))
                                .setServiceConfig(NameResolver.ConfigOrError.fromConfig(config))
                                .setAttributes(Attributes.newBuilder().set(InternalConfigSelector.KEY, selector).build())
                                .build());
                    }

                    @Override
                    public void shutdown() {}
                };
            }

            @Override
            public String getDefaultScheme() {
                return "selector";
            }
        };
        java.lang.reflect.Method transports = InProcessChannelBuilder.class.getDeclaredMethod("buildTransportFactory");
        transports.setAccessible(true);
        ClientTransportFactory factory = (ClientTransportFactory) transports.invoke(InProcessChannelBuilder.forName(name));
        return new ManagedChannelImplBuilder("selector:///" + name, () -> factory, null)
                .nameResolverFactory(resolvers).build();
    }

    /**
     * Client side, respond: the stub's call of Reserve fails with UNAVAILABLE, blocking
     * (StatusRuntimeException) or async (onError), through a client interceptor and on a
     * channel that makes its calls at start (a config selector); nothing reaches the server;
     * Ping is untouched; one injection per call; stopping restores the calls.
     */
    static void clientResponds(String[] args) throws Exception {
        try (Shop shop = new Shop("client-responds")) {
            ManagedChannel selecting = selectorChannel(shop.name);
            check("reserved a".equals(blocking(shop.channel, RESERVE, "a")), "before arming, Reserve answers");
            check("reserved s".equals(blocking(selecting, RESERVE, "s")), "and through the selecting channel");
            check(selecting.newCall(RESERVE, CallOptions.DEFAULT).getClass().getName().endsWith("ConfigSelectingClientCall"),
                    "the selecting channel makes its calls at start");
            int reservedBefore = shop.reserved.get();
            int arrivedBefore = shop.reserveArrived.get();
            arm("[[fault]]", "id = \"reserve-unavailable\"", "kind = \"respond\"", "preset = \"grpc\"",
                    "method = \"shop.Inventory/Reserve\"", "side = \"client\"", "status = \"UNAVAILABLE\"");

            Status s = blockingStatus(shop.channel, RESERVE, 0);
            check(injectedStatus(s, Status.Code.UNAVAILABLE), "a blocking Reserve fails with UNAVAILABLE: " + s);
            report("blocking", s.getCode() + ": " + s.getDescription());

            Async async = new Async(shop.channel, RESERVE, 0);
            Status a = async.status();
            check(async.returned, "the async stub's method returns; the failure goes to its observer");
            check(injectedStatus(a, Status.Code.UNAVAILABLE), "an async Reserve's observer gets onError(UNAVAILABLE): " + a);
            check(async.answer == null, "and no answer");

            Watching watching = new Watching();
            Channel intercepted = ClientInterceptors.intercept(shop.channel, watching);
            Status i = blockingStatus(intercepted, RESERVE, 0);
            check(injectedStatus(i, Status.Code.UNAVAILABLE), "through a client interceptor, UNAVAILABLE: " + i);
            check(watching.closed.get() == 1 && injectedStatus(watching.lastStatus, Status.Code.UNAVAILABLE),
                    "the interceptor saw the call close with UNAVAILABLE: " + watching.lastStatus);

            Status sel = blockingStatus(selecting, RESERVE, 0);
            check(injectedStatus(sel, Status.Code.UNAVAILABLE), "a channel making its call at start, UNAVAILABLE: " + sel);
            Async selAsync = new Async(selecting, RESERVE, 0);
            check(injectedStatus(selAsync.status(), Status.Code.UNAVAILABLE), "and async: " + selAsync.status());

            check("pong p".equals(blocking(shop.channel, PING, "p")), "Ping answers");
            check("pong q".equals(blocking(selecting, PING, "q")), "Ping answers through the selecting channel");
            Async ping = new Async(shop.channel, PING, 0);
            check(ping.status().isOk() && "pong y".equals(ping.answer), "an async Ping answers: " + ping.status());

            check(shop.reserved.get() == reservedBefore, "the Reserve handler never ran: " + shop.reserved.get());
            check(shop.reserveArrived.get() == arrivedBefore, "no Reserve call reached the server: "
                    + (shop.reserveArrived.get() - arrivedBefore));

            List<FaultEvent> fired = injections("reserve-unavailable");
            check(fired.size() == 5, "one injection per failed call: " + fired);
            for (FaultEvent e : fired) {
                check("grpc".equals(e.preset()), "the event names the preset: " + e);
                check((RESERVE_NAME + " (client)").equals(e.matched()), "the event names the method and side: " + e);
                check(Integer.valueOf(14).equals(((Number) e.get("status")).intValue()), "and the status: " + e);
            }
            report("matched", fired.get(0).matched());

            noWarnings();
            Faultline.stopAll();
            check("reserved b".equals(blocking(shop.channel, RESERVE, "b")), "after stop, Reserve answers");
            check("reserved t".equals(blocking(selecting, RESERVE, "t")), "and through the selecting channel");
            Async after = new Async(shop.channel, RESERVE, 0);
            check(after.status().isOk() && "reserved y".equals(after.answer), "and async");
            check(shop.reserved.get() == reservedBefore + 3, "the handler ran for them: " + shop.reserved.get());
            selecting.shutdownNow();
        }
    }

    /**
     * Client side, latency: Reserve waits before it is sent; a blocking call whose deadline
     * comes first ends at the deadline with DEADLINE_EXCEEDED, unsent; an async call (which
     * waits on the caller's thread, the whole delay) starts past its deadline and its observer
     * gets gRPC's onError(DEADLINE_EXCEEDED), unsent; Ping is not delayed; stopping restores.
     */
    static void clientWaits(String[] args) throws Exception {
        try (Shop shop = new Shop("client-waits")) {
            check("reserved a".equals(blocking(shop.channel, RESERVE, "a")), "before arming, Reserve answers");
            arm("[[fault]]", "id = \"reserve-slow\"", "kind = \"latency\"", "preset = \"grpc\"",
                    "method = \"shop.*/Res*\"", "side = \"client\"", "delay = \"2s\"");
            int reserved = shop.reserved.get();

            long t0 = System.nanoTime();
            check("reserved b".equals(blocking(shop.channel, RESERVE, "b")), "a slow Reserve answers");
            long slow = millisSince(t0);
            check(slow >= 2000, "after the delay: " + slow + " ms");
            check(shop.reserved.get() == reserved + 1, "its handler ran once");

            t0 = System.nanoTime();
            Status cut = blockingStatus(shop.channel, RESERVE, 150);
            long cutMs = millisSince(t0);
            check(cut != null && cut.getCode() == Status.Code.DEADLINE_EXCEEDED,
                    "a blocking Reserve with a 150 ms deadline fails with DEADLINE_EXCEEDED: " + cut);
            check(cutMs >= 140 && cutMs < 1500, "at its deadline, not after the 2 s delay: " + cutMs + " ms");
            report("cut_ms", cutMs);

            t0 = System.nanoTime();
            Async late = new Async(shop.channel, RESERVE, 150);
            Status lateStatus = late.status();
            report("async_late_ms", millisSince(t0));
            check(late.returned, "the async stub's method returns");
            check(lateStatus.getCode() == Status.Code.DEADLINE_EXCEEDED,
                    "an async Reserve past its deadline gets onError(DEADLINE_EXCEEDED): " + lateStatus);
            check(shop.reserved.get() == reserved + 1, "neither call past its deadline reached the handler: "
                    + shop.reserved.get());

            check("pong p".equals(blocking(shop.channel, PING, "p")), "Ping answers (no event names it: below)");

            List<FaultEvent> fired = injections("reserve-slow");
            check(fired.size() == 3, "one delay per Reserve: " + fired);
            check(fired.get(0).delayMillis() >= 2000, "the event says how long: " + fired.get(0));
            check(Boolean.TRUE.equals(fired.get(1).get("timed_out")), "the cut one says it timed out: " + fired.get(1));
            check(fired.get(1).delayMillis() < 1500, "and waited until the deadline: " + fired.get(1));
            for (FaultEvent e : fired) {
                check("grpc".equals(e.preset()) && (RESERVE_NAME + " (client)").equals(e.matched()), "event: " + e);
            }

            noWarnings();
            Faultline.stopAll();
            int before = injections("reserve-slow").size();
            check("reserved c".equals(blocking(shop.channel, RESERVE, "c", 5000)), "after stop, Reserve answers");
            check(injections("reserve-slow").size() == before, "without a delay");
        }
    }

    /**
     * Server side, respond (a numeric status): the server answers Reserve with
     * PERMISSION_DENIED before its interceptors and handler; the blocking and async clients
     * see it; Ping and Watch are untouched. A streaming method (whose handler runs as its call
     * starts) is answered before its handler too. Then a fault on both sides (no side): the
     * client answers, the server never sees the call: one injection. Stopping restores.
     */
    static void serverResponds(String[] args) throws Exception {
        try (Shop shop = new Shop("server-responds")) {
            check("reserved a".equals(blocking(shop.channel, RESERVE, "a")), "before arming, Reserve answers");
            int reserved = shop.reserved.get();
            int arrived = shop.reserveArrived.get();
            arm("[[fault]]", "id = \"reserve-denied\"", "kind = \"respond\"", "preset = \"grpc\"",
                    "method = \"shop.Inventory/Reserve\"", "side = \"server\"", "status = 7");

            Status s = blockingStatus(shop.channel, RESERVE, 0);
            check(injectedStatus(s, Status.Code.PERMISSION_DENIED), "a blocking Reserve gets PERMISSION_DENIED: " + s);
            Async async = new Async(shop.channel, RESERVE, 0);
            Status a = async.status();
            check(async.returned && injectedStatus(a, Status.Code.PERMISSION_DENIED),
                    "an async Reserve's observer gets onError(PERMISSION_DENIED): " + a);
            check("pong p".equals(blocking(shop.channel, PING, "p")), "Ping answers");
            check(shop.reserved.get() == reserved, "the Reserve handler never ran: " + shop.reserved.get());
            check(shop.reserveArrived.get() == arrived, "nor the server's interceptor (answered before the chain)");
            check("watching w;OK".equals(watch(shop.channel)), "Watch answers");
            check(shop.watched.get() == 1, "its handler ran once");
            noWarnings();
            Faultline.stopAll();

            // A streaming handler runs when its call starts: the answer comes before it. (Armed
            // through the Java API.)
            Faultline.fault("respond").id("watch-denied").preset("grpc").method("shop.Inventory/W*").side("server")
                    .status("UNAUTHENTICATED").arm();
            String denied = watch(shop.channel);
            check(denied.equals("UNAUTHENTICATED: injected by faultline"), "a Watch call gets UNAUTHENTICATED: " + denied);
            check(shop.watched.get() == 1, "its handler never ran: " + shop.watched.get());
            List<FaultEvent> watchFired = injections("watch-denied");
            check(watchFired.size() == 1 && (SERVICE + "/Watch (server)").equals(watchFired.get(0).matched()),
                    "one injection, naming Watch: " + watchFired);

            List<FaultEvent> fired = injections("reserve-denied");
            check(fired.size() == 2, "one injection per call: " + fired);
            for (FaultEvent e : fired) {
                check("grpc".equals(e.preset()) && (RESERVE_NAME + " (server)").equals(e.matched()),
                        "the event names the method and side: " + e);
                check(Integer.valueOf(7).equals(((Number) e.get("status")).intValue()), "and the status: " + e);
            }
            report("matched", fired.get(0).matched());
            noWarnings();
            Faultline.stopAll();
            check("reserved b".equals(blocking(shop.channel, RESERVE, "b")), "after stop, Reserve answers");
            check(shop.reserved.get() == reserved + 1, "its handler ran");

            arm("[[fault]]", "id = \"reserve-missing\"", "kind = \"respond\"", "preset = \"grpc\"",
                    "method = \"shop.Inventory/Reserve\"", "status = \"not_found\"");
            Status both = blockingStatus(shop.channel, RESERVE, 0);
            check(injectedStatus(both, Status.Code.NOT_FOUND), "with both sides, Reserve gets NOT_FOUND: " + both);
            List<FaultEvent> once = injections("reserve-missing");
            check(once.size() == 1 && once.get(0).matched().endsWith("(client)"),
                    "answered by the client, once: " + once);
            check(shop.reserved.get() == reserved + 1, "the handler did not run");
            noWarnings();
            Faultline.stopAll();
            check("reserved c".equals(blocking(shop.channel, RESERVE, "c")), "after stop, Reserve answers");
        }
    }

    /**
     * Server side, latency: the handler runs after the delay, the client waits for it; a
     * client whose deadline comes first gets gRPC's own DEADLINE_EXCEEDED at the deadline;
     * Ping is not delayed; stopping restores.
     */
    static void serverWaits(String[] args) throws Exception {
        try (Shop shop = new Shop("server-waits")) {
            check("reserved a".equals(blocking(shop.channel, RESERVE, "a")), "before arming, Reserve answers");
            arm("[[fault]]", "id = \"server-slow\"", "kind = \"latency\"", "preset = \"grpc\"",
                    "method = \"shop.Inventory/Reserve\"", "side = \"server\"", "delay = \"2s\"");
            int reserved = shop.reserved.get();

            long t0 = System.nanoTime();
            check("reserved b".equals(blocking(shop.channel, RESERVE, "b")), "a slow Reserve answers");
            long slow = millisSince(t0);
            check(slow >= 2000, "after the server's delay: " + slow + " ms");
            check(shop.reserved.get() == reserved + 1, "its handler ran once");

            t0 = System.nanoTime();
            Status cut = blockingStatus(shop.channel, RESERVE, 150);
            long cutMs = millisSince(t0);
            check(cut != null && cut.getCode() == Status.Code.DEADLINE_EXCEEDED,
                    "a client with a 150 ms deadline gets DEADLINE_EXCEEDED: " + cut);
            check(cutMs >= 140 && cutMs < 1500, "at its deadline, not after the 2 s delay: " + cutMs + " ms");

            Async async = new Async(shop.channel, PING, 0);
            check(async.status().isOk(), "an async Ping answers (no event names it: below)");

            Thread.sleep(2000); // the server's second delay ends
            List<FaultEvent> fired = injections("server-slow");
            check(fired.size() == 2, "one delay per Reserve: " + fired);
            for (FaultEvent e : fired) {
                check("grpc".equals(e.preset()) && (RESERVE_NAME + " (server)").equals(e.matched()), "event: " + e);
                check(e.delayMillis() >= 2000, "the server waited the delay: " + e);
            }

            noWarnings();
            Faultline.stopAll();
            int before = injections("server-slow").size();
            check("reserved c".equals(blocking(shop.channel, RESERVE, "c", 5000)), "after stop, Reserve answers");
            check(injections("server-slow").size() == before, "without a delay");
        }
    }
}
