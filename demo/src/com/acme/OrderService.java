package com.acme;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Places orders: reserve stock, charge the payment, save the order.
 * Payment failures ({@link IOException}, e.g. {@link java.net.SocketTimeoutException}) are retried
 * {@link #PAYMENT_RETRIES} times, then the order is accepted as PAYMENT_PENDING; a RuntimeException
 * from the inventory or the repository fails the order.
 * Orders submitted with {@link #submit} run on the {@link OrderExecutor} pool (orders-1..4, queue of 50, AbortPolicy).
 */
public class OrderService {
    public static final int PAYMENT_RETRIES = 2;

    private final Inventory inventory;
    private final PaymentClient payments;
    private final OrderRepository repository;
    private final OrderExecutor pool;
    private final AtomicLong ids = new AtomicLong();

    /** The payment client orders are charged through. */
    PaymentClient payments() {
        return payments;
    }

    public OrderService(Inventory inventory, PaymentClient payments, OrderRepository repository) {
        this.inventory = inventory;
        this.payments = payments;
        this.repository = repository;
        this.pool = new OrderExecutor();
    }

    /** Places one order on the calling thread. */
    public Receipt placeOrder(String item, int qty, long amountCents) {
        long id = ids.incrementAndGet();
        long start = System.nanoTime();

        boolean reserved;
        try {
            reserved = inventory.reserve(item, qty);
        } catch (RuntimeException e) {
            return receipt(id, Receipt.Status.FAILED, describe(e), null, 0, start, System.nanoTime() - start, 0, 0);
        }
        long reserveNanos = System.nanoTime() - start;
        if (!reserved) {
            return receipt(id, Receipt.Status.FAILED, "out of stock: " + item, null, 0, start, reserveNanos, 0, 0);
        }

        long paymentStart = System.nanoTime();
        String transactionId = null;
        IOException lastError = null;
        int attempts = 0;
        while (transactionId == null && attempts <= PAYMENT_RETRIES) {
            attempts++;
            try {
                transactionId = payments.charge(amountCents);
            } catch (IOException e) {
                lastError = e; // retried, then the order falls back to PAYMENT_PENDING
            }
        }
        long paymentNanos = System.nanoTime() - paymentStart;

        long saveStart = System.nanoTime();
        try {
            repository.save(new Order(id, item, qty, amountCents, transactionId));
        } catch (RuntimeException e) {
            return receipt(id, Receipt.Status.FAILED, describe(e), transactionId, attempts, start,
                    reserveNanos, paymentNanos, System.nanoTime() - saveStart);
        }
        long saveNanos = System.nanoTime() - saveStart;

        if (transactionId == null) {
            return receipt(id, Receipt.Status.PAYMENT_PENDING, describe(lastError), null, attempts, start,
                    reserveNanos, paymentNanos, saveNanos);
        }
        return receipt(id, Receipt.Status.OK, null, transactionId, attempts, start, reserveNanos, paymentNanos, saveNanos);
    }

    /**
     * Places one order on the orders pool.
     * @throws java.util.concurrent.RejectedExecutionException when the pool's queue is full
     */
    public CompletableFuture<Receipt> submit(String item, int qty, long amountCents) {
        try {
            return CompletableFuture.supplyAsync(() -> placeOrder(item, qty, amountCents), pool);
        } catch (RejectedExecutionException e) {
            // one stable message (the pool's own names the task and its counters)
            RejectedExecutionException stable = new RejectedExecutionException("rejected by the orders pool");
            stable.initCause(e);
            throw stable;
        }
    }

    public OrderExecutor executor() {
        return pool;
    }

    public OrderRepository repository() {
        return repository;
    }

    public void shutdown() {
        pool.shutdownNow();
    }

    private static Receipt receipt(long id, Receipt.Status status, String reason, String transactionId, int attempts,
                                   long start, long reserveNanos, long paymentNanos, long saveNanos) {
        return new Receipt(id, status, reason, transactionId, attempts, System.nanoTime() - start,
                reserveNanos, paymentNanos, saveNanos);
    }

    /** "java.net.SocketTimeoutException: message" on one line. */
    public static String describe(Throwable t) {
        String message = t.getMessage();
        String text = message == null ? t.getClass().getName() : t.getClass().getName() + ": " + message;
        return text.replace('\r', ' ').replace('\n', ' ');
    }
}
