package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.Faultline;
import io.faultline.junit.FaultlineExtension;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fault vocabulary in tests: a condition selects the calls a fault hits, a return fault
 * answers for a dependency, and a fault at exit throws after the work was done.
 */
@ExtendWith(FaultlineExtension.class)
class BigOrderTest {
    private OrderService service;

    @BeforeEach
    void start() {
        service = Demo.service();
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.shutdown();
        }
    }

    @Test
    @InjectFault(id = "big-charges", kind = "exception", target = "com.acme.PaymentClient#charge",
            when = "arg0 >= 100000", raise = SocketTimeoutException.class)
    void onlyBigChargesTimeOut(Faults faults) {
        assertEquals(Receipt.Status.OK, service.placeOrder("gizmo", 1, 2499).status());
        Receipt big = service.placeOrder("gizmo", 1, 250_000);
        assertEquals(Receipt.Status.PAYMENT_PENDING, big.status(), big::toString);
        assertEquals(3, faults.injected("big-charges"));
        assertEquals(4, faults.calls("big-charges"));
    }

    @Test
    @InjectFault(id = "no-stock", kind = "return", target = "com.acme.Inventory+#reserve", when = "arg0 == 'widget'",
            value = "false")
    void anEmptyWarehouseFailsTheOrderWithoutCharging(Faults faults) {
        Receipt receipt = service.placeOrder("widget", 1, 999);
        assertEquals(Receipt.Status.FAILED, receipt.status(), receipt::toString);
        assertEquals("out of stock: widget", receipt.reason());
        assertEquals(0, receipt.paymentAttempts());
        assertEquals(Receipt.Status.OK, service.placeOrder("gadget", 1, 999).status());
    }

    @Test
    void aSaveThatCommitsButFailsLeavesTheOrderStored(Faults faults) {
        int before = service.repository().count();
        faults.arm(Faultline.fault("exception").id("lost-reply").target("com.acme.OrderRepository#save").atExit()
                .raise(IllegalStateException.class, "reply lost"));
        Receipt receipt = service.placeOrder("gizmo", 1, 999);
        assertEquals(Receipt.Status.FAILED, receipt.status(), receipt::toString);
        assertEquals(before + 1, service.repository().count(), "the order was stored before the failure");
        assertEquals(1, faults.injected("lost-reply"));
        assertEquals("exit", faults.events("lost-reply").stream()
                .filter(e -> "exception".equals(e.kind())).findFirst().orElseThrow().get("at"));
    }
}
