package com.acme;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The "database": an in-memory map whose writes take about 1 ms, like a round trip to a real one. */
public class OrderRepository {
    private final Map<Long, Order> orders = new ConcurrentHashMap<>();

    public void save(Order order) {
        try {
            Thread.sleep(1); // simulated database write
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while saving order " + order.id(), e);
        }
        orders.put(order.id(), order);
    }

    public Order find(long id) {
        return orders.get(id);
    }

    public int count() {
        return orders.size();
    }
}
