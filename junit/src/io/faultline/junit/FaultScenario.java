package io.faultline.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Arms every fault of a scenario file (TOML, relative to the working directory) right before
 * the test body and removes them right after it. Scoped to the test like {@link InjectFault},
 * unless {@code global = true}. Repeatable. Registers {@link FaultlineExtension} by itself.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Repeatable(FaultScenarios.class)
@ExtendWith(FaultlineExtension.class)
public @interface FaultScenario {
    /** The scenario file, e.g. {@code "scenarios/payment-outage.toml"}. */
    String value();

    /** Process-wide: fire on every thread, not only the test's own threads. */
    boolean global() default false;
}
