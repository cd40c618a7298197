package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.Faultline;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Nothing stays armed after a test. Run last (the suite is run with the class orderer
 * {@code ClassOrderer$OrderAnnotation}), it also checks what every other test left behind.
 */
@Order(Integer.MAX_VALUE)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Isolated // it checks the whole JVM: never next to other tests (when run in parallel)
class NothingStaysArmedTest {

    @Test
    @Order(1)
    @InjectFault(id = "slow-save", kind = "latency", target = "com.acme.OrderRepository#save", delay = "200ms")
    @InjectFault(id = "slow-charge", kind = "latency", target = "com.acme.PaymentClient#charge", delay = "100ms")
    void faultedTest(Faults faults) {
        assertTrue(Faultline.status().contains("\"id\":\"slow-save\""), Faultline.status());
        OrderService service = Demo.service();
        try {
            long t0 = System.nanoTime();
            assertEquals(Receipt.Status.OK, service.placeOrder("widget", 1, 999).status());
            assertTrue(Demo.millisSince(t0) >= 290);
            assertEquals(2, faults.injected());
        } finally {
            service.shutdown();
        }
    }

    @Test
    @Order(2)
    void nothingIsArmedAfterwardsAndMethodsRunAtNormalSpeed() {
        String status = Faultline.status();
        assertTrue(status.contains("\"faults\":[]"), "faults left armed: " + status);
        assertFalse(Faultline.events().isEmpty(), "earlier tests armed faults");

        OrderService service = Demo.service();
        try {
            long t0 = System.nanoTime();
            for (int i = 0; i < 10; i++) {
                assertEquals(Receipt.Status.OK, service.placeOrder("widget", 1, 999).status());
            }
            long elapsed = Demo.millisSince(t0);
            assertTrue(elapsed < 200, "10 orders took " + elapsed + " ms");
        } finally {
            service.shutdown();
        }
    }
}
