package com.acme.selftest;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.junit.InjectFault;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** Resource faults act on the JVM as a whole: refused for one test's scope, armed process-wide. */
class ResourceFaultsTest {

    /** Must FAIL before the body runs: a scoped resource fault is refused, with the way out. */
    @Test
    @InjectFault(id = "scoped-threads", kind = "threads", count = 5)
    void scopedResourceFault() {
        fail("the body must not run");
    }

    /** Must PASS: 20 threads held while the test runs (armed before the body). */
    @Test
    @InjectFault(id = "held-threads", kind = "threads", count = 20, global = true)
    void globalResourceFault() throws Exception {
        int threads = ManagementFactory.getThreadMXBean().getThreadCount();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (threads < 20 && System.nanoTime() < deadline) {
            Thread.sleep(20);
            threads = ManagementFactory.getThreadMXBean().getThreadCount();
        }
        int named = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            named += t.getName().startsWith("faultline-held-") ? 1 : 0;
        }
        assertTrue(named == 20, "threads held by the fault: " + named);
    }
}
