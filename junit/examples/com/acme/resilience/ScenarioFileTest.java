package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.junit.FaultScenario;
import io.faultline.junit.Faults;
import org.junit.jupiter.api.Test;

/** A whole scenario file (the bundled one: half of the charges time out), armed for one test. */
class ScenarioFileTest {

    @Test
    @FaultScenario("scenarios/payment-outage.toml") // relative to the working directory
    void halfOfTheChargesTimeOutAndNoOrderIsLost(Faults faults) {
        OrderService service = Demo.service();
        try {
            int ok = 0;
            int pending = 0;
            for (int i = 0; i < 40; i++) {
                Receipt r = service.placeOrder("widget", 1, 999);
                assertTrue(r.status() != Receipt.Status.FAILED, r::toString);
                if (r.status() == Receipt.Status.OK) {
                    ok++;
                } else {
                    pending++;
                }
            }
            assertEquals(40, ok + pending);
            assertEquals(40, service.repository().count(), "every order was saved");
            long injected = faults.injected("gateway-timeout");
            long calls = faults.calls("gateway-timeout");
            assertTrue(injected > 10 && injected < calls, injected + " injections in " + calls + " calls");
        } finally {
            service.shutdown();
        }
    }
}
