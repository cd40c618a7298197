package com.acme;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Client of the payment gateway (see {@link PaymentGateway}): each charge is an HTTP POST
 * with the JDK's HttpClient, answered in about a millisecond with a transaction id. A call
 * that takes longer than 500 ms fails with the client's own {@code HttpTimeoutException}.
 */
public class PaymentClient {
    static final Duration TIMEOUT = Duration.ofMillis(500);

    private final URI gateway;
    private final HttpClient http;

    public PaymentClient() {
        this(PaymentGateway.local());
    }

    PaymentClient(URI gateway) {
        this.gateway = gateway;
        this.http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    }

    /**
     * One request to the gateway outside any charge (its root, which answers 404), so the
     * first order does not pay for the client's start-up.
     */
    void warmUp() {
        try {
            http.send(HttpRequest.newBuilder(gateway.resolve("/")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            // Warm-up only: the first charge will say what is wrong.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String charge(long amountCents) throws IOException {
        if (amountCents <= 0) {
            throw new IllegalArgumentException("amount must be positive: " + amountCents);
        }
        HttpRequest request = HttpRequest.newBuilder(gateway.resolve("/charge?amount=" + amountCents))
                .timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while charging " + amountCents + " cents");
        }
        if (response.statusCode() != 200) {
            throw new IOException("the payment gateway answered " + response.statusCode());
        }
        return response.body();
    }
}
