package com.acme.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.OrderService;
import com.acme.Receipt;
import io.faultline.FaultEvent;
import io.faultline.junit.FaultlineExtension;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A failure mode by name: the payment gateway refuses connections. The preset acts on the HTTP
 * client's own calls, whatever code makes them, and fails them with that client's own
 * exception (a {@code java.net.ConnectException} for the JDK's HttpClient).
 */
@ExtendWith(FaultlineExtension.class)
class GatewayPresetTest {
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
    @InjectFault(id = "gateway-refuses", kind = "exception", preset = "http-client",
            url = "http://localhost:*/charge*", raiseName = "connect")
    void aGatewayThatRefusesConnectionsLeavesThePaymentPending(Faults faults) {
        Receipt receipt = service.placeOrder("widget", 1, 999);
        assertEquals(Receipt.Status.PAYMENT_PENDING, receipt.status(), receipt::toString);
        assertEquals(3, faults.injected("gateway-refuses"), "the first call and two retries");
        for (FaultEvent e : faults.events("gateway-refuses")) {
            if (e.kind().equals("exception")) {
                assertEquals("http-client", e.preset());
                assertTrue(e.matched().startsWith("POST http://localhost:") && e.matched().contains("/charge?amount=999"),
                        e::toString);
                assertEquals("java.net.ConnectException", e.exception());
            }
        }
    }
}
