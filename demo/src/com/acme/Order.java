package com.acme;

/** An accepted order. Immutable. {@code transactionId} is null while the payment is pending. */
public final class Order {
    private final long id;
    private final String item;
    private final int quantity;
    private final long amountCents;
    private final String transactionId;

    public Order(long id, String item, int quantity, long amountCents, String transactionId) {
        this.id = id;
        this.item = item;
        this.quantity = quantity;
        this.amountCents = amountCents;
        this.transactionId = transactionId;
    }

    public long id() { return id; }
    public String item() { return item; }
    public int quantity() { return quantity; }
    public long amountCents() { return amountCents; }
    public String transactionId() { return transactionId; }
    public boolean paymentPending() { return transactionId == null; }

    @Override
    public String toString() {
        return "Order[id=" + id + ", item=" + item + ", quantity=" + quantity + ", amountCents=" + amountCents
                + ", transactionId=" + transactionId + "]";
    }
}
