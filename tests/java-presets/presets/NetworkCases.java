package presets;

import static presets.Check.arm;
import static presets.Check.check;
import static presets.Check.injected;
import static presets.Check.injections;
import static presets.Check.thrown;

import io.faultline.FaultEvent;
import io.faultline.Faultline;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.SocketChannel;
import java.sql.DriverManager;
import java.util.List;

/**
 * The dns and socket presets: real name resolution (localhost, through /etc/hosts), real
 * listening sockets, and a real client library on top (the JDK HttpClient, pgjdbc against a
 * real PostgreSQL). Run by tests/presets_network.rs.
 */
public final class NetworkCases {
    public static void main(String[] args) {
        Check.run(NetworkCases.class, args);
    }

    /** Accepts and closes connections in the background, counting them. */
    static final class Listener implements AutoCloseable {
        final ServerSocket server;
        volatile int accepted;

        Listener() throws Exception {
            server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        accepted++;
                    } catch (Exception e) {
                        return;
                    }
                }
            }, "listener");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    /**
     * dns: resolving the named host fails as a real resolver failure would, for every API on
     * top (getByName, getAllByName, Socket, HttpClient); other names and literal addresses
     * resolve; one injection per lookup; stopping restores resolution.
     */
    static void resolvingTheHostFails(String[] args) throws Exception {
        check(InetAddress.getByName("localhost") != null, "localhost resolves before the fault");
        arm("[[fault]]", "id = \"no-dns\"", "kind = \"exception\"", "preset = \"dns\"", "host = \"localhost\"");
        Throwable byName = thrown(() -> InetAddress.getByName("localhost"));
        check(injected(byName, "java.net.UnknownHostException"), "getByName fails: " + byName);
        check(byName.getMessage().startsWith("localhost: Name or service not known"), "as the resolver says it: "
                + byName.getMessage());
        check(injected(thrown(() -> InetAddress.getAllByName("localhost")), "java.net.UnknownHostException"),
                "getAllByName fails");
        check(injections("no-dns").size() == 2, "one injection per lookup (getByName calls getAllByName): "
                + injections("no-dns"));
        try (Listener l = new Listener()) {
            // InetSocketAddress keeps a name it cannot resolve and the socket reports it, as
            // with a real resolver failure.
            int before = injections("no-dns").size();
            Throwable socket = thrown(() -> new Socket("localhost", l.port()).close());
            check(socket instanceof java.net.UnknownHostException && injections("no-dns").size() == before + 1,
                    "a Socket to localhost cannot resolve it: " + socket);
            check(thrown(() -> new Socket("127.0.0.1", l.port()).close()) == null, "a literal address still connects");
            HttpClient client = HttpClient.newHttpClient();
            before = injections("no-dns").size();
            Throwable http = thrown(() -> client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + l.port()
                    + "/")).build(), HttpResponse.BodyHandlers.discarding()));
            check(http instanceof java.io.IOException && injections("no-dns").size() > before,
                    "the JDK HttpClient cannot reach localhost: " + http);
        }
        for (FaultEvent e : injections("no-dns")) {
            check("dns".equals(e.preset()) && "localhost".equals(e.matched()), "the event names the host: " + e);
        }
        Faultline.stopAll();
        check(InetAddress.getByName("localhost") != null, "after stop, localhost resolves again");
    }

    /** dns latency: each lookup of the host waits the delay once. */
    static void slowResolution(String[] args) throws Exception {
        arm("[[fault]]", "id = \"slow-dns\"", "kind = \"latency\"", "preset = \"dns\"", "host = \"local*\"",
                "delay = \"250ms\"");
        long t0 = System.nanoTime();
        InetAddress.getByName("localhost");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        check(ms >= 250, "the lookup waited: " + ms + " ms");
        List<FaultEvent> slow = injections("slow-dns");
        check(slow.size() == 1 && slow.get(0).delayMillis() >= 250, "one delay per lookup: " + slow);
        Faultline.stopAll();
    }

    /**
     * socket: connecting to the named port is refused (Socket, SocketChannel), another port
     * connects, the listener never saw the refused ones; stopping restores it.
     */
    static void connectingIsRefused(String[] args) throws Exception {
        try (Listener target = new Listener(); Listener other = new Listener()) {
            arm("[[fault]]", "id = \"refused\"", "kind = \"exception\"", "preset = \"socket\"",
                    "host = \"127.0.0.*\"", "port = " + target.port());
            Throwable plain = thrown(() -> new Socket("127.0.0.1", target.port()).close());
            check(injected(plain, "java.net.ConnectException"), "Socket is refused: " + plain);
            check(plain.getMessage().startsWith("Connection refused"), "as the kernel says it: " + plain.getMessage());
            Throwable channel = thrown(() -> SocketChannel.open(new InetSocketAddress("127.0.0.1", target.port())).close());
            check(injected(channel, "java.net.ConnectException"), "SocketChannel is refused: " + channel);
            check(thrown(() -> new Socket("127.0.0.1", other.port()).close()) == null, "another port connects");
            check(injections("refused").size() == 2, "one injection per connect: " + injections("refused"));
            Thread.sleep(100);
            check(target.accepted == 0, "the refused connections never reached the listener");
            Faultline.stopAll();
            new Socket("127.0.0.1", target.port()).close();
        }
    }

    /** socket hang: a connect with a timeout ends as that timeout would (SocketTimeoutException). */
    static void aHangEndsAtTheConnectTimeout(String[] args) throws Exception {
        try (Listener target = new Listener()) {
            arm("[[fault]]", "id = \"black-hole\"", "kind = \"hang\"", "preset = \"socket\"",
                    "port = " + target.port());
            long t0 = System.nanoTime();
            Throwable t = thrown(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", target.port()), 400);
                }
            });
            long ms = (System.nanoTime() - t0) / 1_000_000;
            check(t instanceof java.net.SocketTimeoutException, "the connect timed out: " + t);
            check(ms >= 400, "at its timeout: " + ms + " ms");
            Faultline.stopAll();
        }
    }

    /**
     * socket, through a real client library: pgjdbc cannot open its connection to a real
     * PostgreSQL (args: JDBC URL, port), and can once the fault is stopped.
     */
    static void aDatabaseDriverCannotConnect(String[] args) throws Exception {
        DriverManager.getConnection(args[0]).close();
        arm("[[fault]]", "id = \"db-port\"", "kind = \"exception\"", "preset = \"socket\"", "port = " + args[1]);
        Throwable t = thrown(() -> DriverManager.getConnection(args[0]).close());
        check(injected(t, "java.net.ConnectException"), "the driver's connection attempt was refused: " + t);
        check(t instanceof java.sql.SQLException, "the driver reports it its own way: " + t);
        Faultline.stopAll();
        DriverManager.getConnection(args[0]).close();
    }
}
