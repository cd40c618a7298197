package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Retries: two failed charges are retried and the third succeeds; three exhaust the retries. */
class PaymentRetryTest {
    private OrderService service;

    @BeforeEach
    void start() {
        service = Demo.service(); // threads started here are in the test's scope too
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.shutdown();
        }
    }

    @Test
    @InjectFault(id = "flaky-gateway", kind = "exception", target = "com.acme.PaymentClient#charge",
            raise = SocketTimeoutException.class, limit = 2)
    void retrySucceedsAfterTwoFailures(Faults faults) {
        Receipt receipt = service.placeOrder("gizmo", 1, 2499);

        assertEquals(Receipt.Status.OK, receipt.status(), receipt::toString);
        assertNotNull(receipt.transactionId());
        assertEquals(3, receipt.paymentAttempts());
        assertEquals(2, faults.injected("flaky-gateway"));
        assertEquals(3, faults.calls("flaky-gateway"));
    }

    @Test
    @InjectFault(id = "flaky-gateway", kind = "exception", target = "com.acme.PaymentClient#charge",
            raise = SocketTimeoutException.class, after = 1, limit = 3)
    void retriesAreExhaustedAfterThreeFailures(Faults faults) {
        assertEquals(Receipt.Status.OK, service.placeOrder("gizmo", 1, 2499).status()); // after = 1: first call passes

        Receipt receipt = service.placeOrder("gizmo", 1, 2499);
        assertEquals(Receipt.Status.PAYMENT_PENDING, receipt.status(), receipt::toString);
        assertEquals(3, receipt.paymentAttempts());
        assertEquals(3, faults.injected("flaky-gateway"));

        assertEquals(Receipt.Status.OK, service.placeOrder("gizmo", 1, 2499).status()); // limit reached
    }
}
