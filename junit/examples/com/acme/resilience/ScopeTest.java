package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The scope rule: a fault fires on the test's thread and the threads it starts during the test;
 * a thread that existed before (this class's pool, started in @BeforeAll) is outside, unless
 * the fault is global.
 */
@Isolated // a global fault fires on every thread: never next to other tests (when run in parallel)
class ScopeTest {
    private static OrderService shared;
    private static ExecutorService before;

    @BeforeAll
    static void startEarly() throws Exception {
        shared = Demo.service();
        before = Executors.newSingleThreadExecutor();
        before.submit(() -> { }).get(); // its thread exists now, outside any test
    }

    @AfterAll
    static void stopEarly() {
        shared.shutdown();
        before.shutdownNow();
    }

    @Test
    @InjectFault(id = "down", kind = "exception", target = "com.acme.Inventory+#reserve", raise = IllegalStateException.class)
    void scopedFaultFiresOnTheTestThreadAndThreadsItStarts(Faults faults) throws Exception {
        assertEquals(Receipt.Status.FAILED, shared.placeOrder("widget", 1, 999).status()); // test thread

        Receipt[] started = new Receipt[1];
        Thread t = new Thread(() -> started[0] = shared.placeOrder("widget", 1, 999));
        t.start();
        t.join();
        assertEquals(Receipt.Status.FAILED, started[0].status()); // a thread the test started

        Receipt onOldThread = before.submit(() -> shared.placeOrder("widget", 1, 999)).get();
        assertEquals(Receipt.Status.OK, onOldThread.status()); // a thread from before the test: not in scope

        assertEquals(2, faults.injected("down"));
    }

    @Test
    @InjectFault(id = "down", kind = "exception", target = "com.acme.Inventory+#reserve", raise = IllegalStateException.class,
            global = true)
    void globalFaultFiresOnEveryThread(Faults faults) throws Exception {
        Receipt onOldThread = before.submit(() -> shared.placeOrder("widget", 1, 999)).get();
        assertEquals(Receipt.Status.FAILED, onOldThread.status());
        assertEquals(1, faults.injected("down"));
    }
}
