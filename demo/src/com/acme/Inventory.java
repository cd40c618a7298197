package com.acme;

/** Stock reservation. Implementations: {@link WarehouseInventory}, {@link CachedInventory}. */
public interface Inventory {
    /** Reserves {@code quantity} units of {@code item}; false when there is not enough stock. */
    boolean reserve(String item, int quantity);
}
