package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderExecutor;
import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.FaultEvent;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

/**
 * A saturated pool rejects: with a slow database, the 4 workers of the orders pool stay busy, its
 * queue of 50 fills up, and further orders are rejected at once instead of piling up.
 */
class OrderPoolSaturationTest {

    @Test
    @InjectFault(id = "slow-db", kind = "latency", target = "com.acme.OrderRepository#save", delay = "300ms")
    void saturatedPoolRejectsNewOrdersAtOnce(Faults faults) throws Exception {
        OrderService service = Demo.service();
        try {
            int capacity = OrderExecutor.WORKERS + OrderExecutor.QUEUE_CAPACITY;
            List<CompletableFuture<Receipt>> accepted = new ArrayList<>();
            int rejected = 0;
            long t0 = System.nanoTime();
            for (int i = 0; i < capacity + 30; i++) {
                try {
                    accepted.add(service.submit("sprocket", 1, 999));
                } catch (RejectedExecutionException e) {
                    assertEquals("rejected by the orders pool", e.getMessage());
                    rejected++;
                }
            }
            long submitMillis = Demo.millisSince(t0);

            assertTrue(rejected >= 30, "only " + rejected + " of " + (capacity + 30) + " orders were rejected");
            assertTrue(submitMillis < 250, "rejection must be immediate, submitting took " + submitMillis + " ms");

            // The workers are the delayed ones, and they are the demo pool's threads.
            accepted.get(0).join();
            assertTrue(faults.injected("slow-db") >= OrderExecutor.WORKERS);
            for (FaultEvent e : faults.events("slow-db")) {
                if ("latency".equals(e.kind())) {
                    assertTrue(e.thread().startsWith("orders-"), e.thread());
                    assertTrue(e.delayMillis() >= 250, e.toString());
                }
            }
        } finally {
            service.shutdown();
        }
    }
}
