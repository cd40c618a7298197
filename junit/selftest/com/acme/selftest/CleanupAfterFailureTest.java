package com.acme.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import com.acme.OrderRepository;
import io.faultline.Faultline;
import io.faultline.junit.InjectFault;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/** Tests 1 and 2 fail (an exception, a timeout); test 3 passes: they left nothing armed. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CleanupAfterFailureTest {

    @Test
    @Order(1)
    @InjectFault(id = "slow-save", kind = "latency", target = "com.acme.OrderRepository#save", delay = "300ms",
            global = true)
    void bodyThrows() {
        new OrderRepository().save(new com.acme.Order(1, "widget", 1, 999, "tx"));
        throw new IllegalStateException("the body failed on purpose");
    }

    @Test
    @Order(2)
    @Timeout(value = 500, unit = TimeUnit.MILLISECONDS)
    @InjectFault(id = "stuck-save", kind = "hang", target = "com.acme.OrderRepository#save", max = "1m")
    void bodyTimesOut() {
        new OrderRepository().save(new com.acme.Order(1, "widget", 1, 999, "tx")); // held until the timeout interrupts it
    }

    @Test
    @Order(3)
    void nothingLeftArmed() {
        String status = Faultline.status();
        assertTrue(status.contains("\"faults\":[]"), "faults left armed: " + status);
        OrderRepository repository = new OrderRepository();
        long t0 = System.nanoTime();
        for (int i = 0; i < 10; i++) {
            repository.save(new com.acme.Order(i, "widget", 1, 999, "tx"));
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 150, "10 saves took " + ms + " ms");
        assertEquals(10, repository.count());
    }
}
