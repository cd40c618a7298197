package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.FaultEvent;
import io.faultline.FaultHandle;
import io.faultline.Faultline;
import io.faultline.junit.FaultlineExtension;
import io.faultline.junit.Faults;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Faults armed in the test body through the Faults parameter (no annotation needed). */
@ExtendWith(FaultlineExtension.class)
class ProgrammaticFaultsTest {

    @Test
    void inventoryOutageFailsOneOrder(Faults faults) {
        OrderService service = Demo.service();
        try {
            faults.arm(Faultline.fault("exception").id("inventory-down")
                    .target("com.acme.Inventory+#reserve")            // every implementation of Inventory
                    .raise(IllegalStateException.class, "injected: inventory service unavailable")
                    .limit(1));

            Receipt first = service.placeOrder("widget", 1, 999);
            Receipt second = service.placeOrder("widget", 1, 999);

            assertEquals(Receipt.Status.FAILED, first.status());
            assertEquals("java.lang.IllegalStateException: injected: inventory service unavailable", first.reason());
            assertEquals(Receipt.Status.OK, second.status(), second::toString);
            assertEquals(1, faults.injected("inventory-down"));

            List<FaultEvent> fired = faults.events("inventory-down").stream()
                    .filter(e -> "exception".equals(e.kind())).collect(Collectors.toList());
            assertEquals(1, fired.size());
            assertTrue(fired.get(0).method().startsWith("com.acme.CachedInventory#reserve("), fired.get(0).method());
            assertTrue(fired.get(0).caught().startsWith("com.acme.OrderService#placeOrder("), fired.get(0).caught());
        } finally {
            service.shutdown();
        }
    }

    @Test
    void faultCanBeRemovedInTheMiddleOfATest(Faults faults) {
        OrderService service = Demo.service();
        try {
            try (FaultHandle slow = faults.arm(Faultline.fault("hang").id("stuck-inventory")
                    .target("com.acme.CachedInventory#reserve").max("150ms"))) {
                long t0 = System.nanoTime();
                assertEquals(Receipt.Status.OK, service.placeOrder("gadget", 1, 999).status());
                long held = Demo.millisSince(t0);
                assertTrue(held >= 140, "the hang held the call " + held + " ms");
                assertEquals(1, slow.injected());
            }
            long t0 = System.nanoTime();
            assertEquals(Receipt.Status.OK, service.placeOrder("gadget", 1, 999).status());
            assertTrue(Demo.millisSince(t0) < 100, "the fault is gone once its handle is closed");
            assertEquals(1, faults.injected());
        } finally {
            service.shutdown();
        }
    }
}
