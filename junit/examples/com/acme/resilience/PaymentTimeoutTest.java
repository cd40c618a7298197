package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.FaultEvent;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Timeouts with a fallback: the order is accepted as PAYMENT_PENDING, within a time budget. */
class PaymentTimeoutTest {

    @Test
    @InjectFault(id = "gateway-timeout", kind = "exception", target = "com.acme.PaymentClient#charge(long)",
            raise = SocketTimeoutException.class, message = "injected: payment gateway timeout")
    void paymentTimeoutFallsBackToPendingWithinBudget(Faults faults) {
        OrderService service = Demo.service();
        try {
            long t0 = System.nanoTime();
            Receipt receipt = service.placeOrder("widget", 1, 999);
            long elapsed = Demo.millisSince(t0);

            assertEquals(Receipt.Status.PAYMENT_PENDING, receipt.status(), receipt::toString);
            assertEquals("java.net.SocketTimeoutException: injected: payment gateway timeout", receipt.reason());
            assertEquals(1 + OrderService.PAYMENT_RETRIES, receipt.paymentAttempts());
            assertTrue(elapsed < 300, "the fallback took " + elapsed + " ms, over the 300 ms budget");

            // What fired: one injection per attempt, each caught by the retry loop of placeOrder.
            assertEquals(3, faults.injected("gateway-timeout"));
            List<FaultEvent> thrown = faults.events("gateway-timeout").stream()
                    .filter(e -> "exception".equals(e.kind())).collect(Collectors.toList());
            assertEquals(3, thrown.size(), thrown::toString);
            for (FaultEvent e : thrown) {
                assertEquals("java.net.SocketTimeoutException", e.exception());
                assertTrue(e.method().startsWith("com.acme.PaymentClient#charge(J)"), e.method());
                assertTrue(e.caught().startsWith("com.acme.OrderService#placeOrder("), e.caught());
                assertEquals(Thread.currentThread().getName(), e.thread());
            }
        } finally {
            service.shutdown();
        }
    }

    @Test
    @InjectFault(id = "slow-save", kind = "latency", target = "com.acme.OrderRepository#save", delay = "2s")
    void callerGivesUpOnASlowDatabaseWithinItsBudget(Faults faults) throws Exception {
        OrderService service = Demo.service(); // its pool threads start now, inside the test's scope
        try {
            long t0 = System.nanoTime();
            CompletableFuture<Receipt> order = service.submit("gadget", 2, 1499);
            assertThrows(TimeoutException.class, () -> order.get(200, TimeUnit.MILLISECONDS));
            long elapsed = Demo.millisSince(t0);
            assertTrue(elapsed < 1000, "the caller waited " + elapsed + " ms");
            assertEquals(1, faults.injected("slow-save"), "the save on the orders pool was delayed");
        } finally {
            service.shutdown(); // interrupts the delayed save: the wait ends like blocking I/O
        }
    }
}
