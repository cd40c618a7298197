package com.acme;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.atomic.AtomicLong;

/** Client of the (simulated) remote payment gateway: each charge is a ~1 ms call returning a transaction id. */
public class PaymentClient {
    private final AtomicLong transactions = new AtomicLong();

    public String charge(long amountCents) throws IOException {
        if (amountCents <= 0) {
            throw new IllegalArgumentException("amount must be positive: " + amountCents);
        }
        try {
            Thread.sleep(1); // simulated network round trip
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while charging " + amountCents + " cents");
        }
        String n = Long.toString(transactions.incrementAndGet());
        return "tx-" + "000000".substring(Math.min(6, n.length())) + n; // tx-000042
    }
}
