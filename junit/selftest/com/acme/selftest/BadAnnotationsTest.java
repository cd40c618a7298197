package com.acme.selftest;

import static org.junit.jupiter.api.Assertions.fail;

import com.acme.OrderRepository;
import com.acme.Order;
import io.faultline.Faultline;
import io.faultline.junit.FaultScenario;
import io.faultline.junit.FaultlineExtension;
import io.faultline.junit.Faults;
import io.faultline.junit.InjectFault;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every test here must FAIL, with a message naming the annotation and the key (tests/junit.rs checks). */
class BadAnnotationsTest {

    /** Abstract: the agent refuses it when the fault is armed. */
    abstract static class AbstractFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    @Test
    @InjectFault(id = "typo-kind", kind = "latncy", target = "com.acme.OrderRepository#save", delay = "10ms")
    void unknownKind() {
        fail("the body must not run");
    }

    @Test
    @InjectFault(id = "bad-delay", kind = "latency", target = "com.acme.OrderRepository#save", delay = "soon")
    void badDuration() {
        fail("the body must not run");
    }

    @Test
    @InjectFault(id = "bad-target", kind = "latency", target = "com.acme.OrderRepository", delay = "10ms")
    void invalidTarget() {
        fail("the body must not run");
    }

    @Test
    @InjectFault(id = "abstract-raise", kind = "exception", target = "com.acme.OrderRepository#save",
            raise = AbstractFailure.class)
    void abstractExceptionClass() {
        fail("the body must not run");
    }

    @Test
    @InjectFault(id = "raise-on-latency", kind = "latency", target = "com.acme.OrderRepository#save", delay = "1ms",
            raise = IllegalStateException.class)
    void raiseOnALatencyFault() {
        fail("the body must not run");
    }

    @Test
    @InjectFault(id = "typo-target", kind = "latency", target = "com.acme.OrderRepositry#save", delay = "10ms")
    void targetMatchesNothing() {
        new OrderRepository().save(new Order(1, "widget", 1, 999, "tx")); // the body runs and passes
    }

    @Test
    @FaultScenario("scenarios/no-such-scenario.toml")
    void missingScenarioFile() {
        fail("the body must not run");
    }

    @Test
    @FaultScenario("junit/selftest/bad-delay.toml")
    void badScenarioFile() {
        fail("the body must not run");
    }

    @Test
    @InjectFault(id = "twice", kind = "latency", target = "com.acme.OrderRepository#save", delay = "1ms")
    @InjectFault(id = "twice", kind = "latency", target = "com.acme.OrderRepository#find", delay = "1ms")
    void sameIdTwice() {
        fail("the body must not run");
    }

    @Test
    @ExtendWith(FaultlineExtension.class)
    void badProgrammaticFault(Faults faults) {
        faults.arm(Faultline.fault("latency").id("prog").target("com.acme.OrderRepository#save").delay("-5ms"));
    }
}
