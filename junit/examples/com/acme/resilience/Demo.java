package com.acme.resilience;

import com.acme.CachedInventory;
import com.acme.OrderRepository;
import com.acme.OrderService;
import com.acme.PaymentClient;

/** Builds the demo order service. Its orders pool (orders-1..4) starts here, on the calling thread. */
final class Demo {
    private Demo() {}

    static OrderService service() {
        return new OrderService(new CachedInventory(), new PaymentClient(), new OrderRepository());
    }

    static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
