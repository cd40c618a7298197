package com.acme;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The payment gateway the demo charges: a small HTTP service in the same JVM, on a free
 * local port (http://localhost:PORT/charge?amount=CENTS), answering each charge in about a
 * millisecond with a transaction id. Its threads are daemons: it never keeps the JVM alive.
 */
final class PaymentGateway {
    private static URI uri;

    private PaymentGateway() {}

    /** The gateway's base URI, starting it on first use. */
    static synchronized URI local() {
        if (uri == null) {
            uri = start();
        }
        return uri;
    }

    private static URI start() {
        // The JDK's HTTP server otherwise delays small keep-alive responses by ~40 ms (Nagle).
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        AtomicLong transactions = new AtomicLong();
        ExecutorService workers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "payment-gateway");
            t.setDaemon(true);
            return t;
        });
        HttpServer[] server = new HttpServer[1];
        // The server's dispatcher thread takes the daemon status of the thread that starts it.
        Thread starter = new Thread(() -> {
            try {
                server[0] = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 64);
                server[0].createContext("/charge", exchange -> {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    String n = Long.toString(transactions.incrementAndGet());
                    byte[] body = ("tx-" + "000000".substring(Math.min(6, n.length())) + n)
                            .getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                });
                server[0].setExecutor(workers);
                server[0].start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start the payment gateway: " + e, e);
            }
        }, "payment-gateway-start");
        starter.setDaemon(true);
        starter.start();
        try {
            starter.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (server[0] == null) {
            throw new IllegalStateException("the payment gateway did not start");
        }
        return URI.create("http://localhost:" + server[0].getAddress().getPort());
    }
}
