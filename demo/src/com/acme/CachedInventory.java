package com.acme;

import java.util.HashMap;
import java.util.Map;

/**
 * A local cache in front of the warehouse: units are taken from the warehouse in batches
 * ({@code super.reserve(item, BATCH)}) and handed out locally, so most reservations never reach it.
 */
public class CachedInventory extends WarehouseInventory {
    static final int BATCH = 100;

    private final Map<String, Integer> allotted = new HashMap<>();

    @Override
    public synchronized boolean reserve(String item, int quantity) {
        if (quantity <= 0) {
            throw new IllegalArgumentException("quantity must be positive: " + quantity);
        }
        int local = allotted.getOrDefault(item, 0);
        if (local < quantity) {
            int wanted = Math.max(BATCH, quantity - local);
            if (!super.reserve(item, wanted)) {
                return false;
            }
            local += wanted;
        }
        allotted.put(item, local - quantity);
        return true;
    }
}
