package com.acme;

/** The outcome of one {@link OrderService#placeOrder} call, with the time spent in each step. */
public final class Receipt {
    public enum Status { OK, PAYMENT_PENDING, FAILED }

    private final long orderId;
    private final Status status;
    private final String reason;
    private final String transactionId;
    private final int paymentAttempts;
    private final long elapsedNanos;
    private final long reserveNanos;
    private final long paymentNanos;
    private final long saveNanos;

    Receipt(long orderId, Status status, String reason, String transactionId, int paymentAttempts,
            long elapsedNanos, long reserveNanos, long paymentNanos, long saveNanos) {
        this.orderId = orderId;
        this.status = status;
        this.reason = reason;
        this.transactionId = transactionId;
        this.paymentAttempts = paymentAttempts;
        this.elapsedNanos = elapsedNanos;
        this.reserveNanos = reserveNanos;
        this.paymentNanos = paymentNanos;
        this.saveNanos = saveNanos;
    }

    public long orderId() { return orderId; }
    public Status status() { return status; }
    /** "exception.Class: message" (or a plain text) for PAYMENT_PENDING and FAILED; null for OK. */
    public String reason() { return reason; }
    public String transactionId() { return transactionId; }
    /** 1 when the first charge succeeded; up to 1 + OrderService.PAYMENT_RETRIES. */
    public int paymentAttempts() { return paymentAttempts; }
    public long elapsedNanos() { return elapsedNanos; }
    public long reserveNanos() { return reserveNanos; }
    public long paymentNanos() { return paymentNanos; }
    public long saveNanos() { return saveNanos; }
    public double elapsedMillis() { return elapsedNanos / 1e6; }

    @Override
    public String toString() {
        return "Receipt[order=" + orderId + ", status=" + status + (reason == null ? "" : ", reason=" + reason)
                + ", ms=" + String.format(java.util.Locale.ROOT, "%.3f", elapsedMillis()) + "]";
    }
}
