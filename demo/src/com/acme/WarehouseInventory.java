package com.acme;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The central stock: every item starts with a billion units, so it never runs out in practice. */
public class WarehouseInventory implements Inventory {
    static final long INITIAL_STOCK = 1_000_000_000L;

    private final Map<String, AtomicLong> stock = new ConcurrentHashMap<>();

    @Override
    public boolean reserve(String item, int quantity) {
        if (quantity <= 0) {
            throw new IllegalArgumentException("quantity must be positive: " + quantity);
        }
        AtomicLong left = stock.computeIfAbsent(item, k -> new AtomicLong(INITIAL_STOCK));
        while (true) {
            long current = left.get();
            if (current < quantity) {
                return false;
            }
            if (left.compareAndSet(current, current - quantity)) {
                return true;
            }
        }
    }

    public long available(String item) {
        AtomicLong left = stock.get(item);
        return left == null ? INITIAL_STOCK : left.get();
    }
}
