package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import java.util.Arrays;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** A fault on the class applies to each of its tests, @Nested ones included. */
@InjectFault(id = "slow-charge", kind = "latency", target = "com.acme.PaymentClient#charge", delay = "50ms")
class ClassLevelFaultTest {

    @Test
    void everyTestOfTheClassGetsTheFault(Faults faults) {
        OrderService service = Demo.service();
        try {
            long t0 = System.nanoTime();
            assertEquals(Receipt.Status.OK, service.placeOrder("widget", 1, 999).status());
            assertTrue(Demo.millisSince(t0) >= 45);
            assertEquals(1, faults.injected("slow-charge"));
        } finally {
            service.shutdown();
        }
    }

    @Nested
    class WhenTheDatabaseFails {
        @Test
        @InjectFault(id = "db-down", kind = "exception", target = "com.acme.OrderRepository#save",
                raise = IllegalStateException.class, message = "injected: database down")
        void theOrderFailsAfterASlowCharge(Faults faults) {
            OrderService service = Demo.service();
            try {
                Receipt receipt = service.placeOrder("widget", 1, 999);
                assertEquals(Receipt.Status.FAILED, receipt.status());
                assertEquals("java.lang.IllegalStateException: injected: database down", receipt.reason());
                assertEquals(Arrays.asList("slow-charge", "db-down"), faults.ids());
                assertEquals(1, faults.injected("slow-charge"));
                assertEquals(1, faults.injected("db-down"));
            } finally {
                service.shutdown();
            }
        }
    }
}
