package com.acme.selftest;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.Faultline;
import io.faultline.junit.FaultScenario;
import org.junit.jupiter.api.Test;

/** Pool faults act on whole executors: they cannot be scoped to a test, and they match no method. */
class PoolFaultsTest {

    /** Must FAIL before the body runs: a scoped pool fault is refused, with the way out. */
    @Test
    @FaultScenario("junit/selftest/pool.toml")
    void scopedPoolFault() {
        fail("the body must not run");
    }

    /** Must PASS: armed process-wide, and not reported as a target that "matched no method". */
    @Test
    @FaultScenario(value = "junit/selftest/pool.toml", global = true)
    void globalPoolFault() {
        assertTrue(Faultline.status().contains("\"no-such-pool\""), Faultline.status());
    }
}
