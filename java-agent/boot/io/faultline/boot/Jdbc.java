package io.faultline.boot;

import java.lang.reflect.Constructor;

/**
 * Exceptions as JDBC raises them. The {@code java.sql} classes belong to the platform class
 * loader, which the hook's bootstrap classes cannot name: they are found through the loader
 * of the driver object at hand.
 */
final class Jdbc {
    private Jdbc() {}

    /**
     * The fault's own class with its message, carrying {@code sqlState} when the class is an
     * {@code SQLException} with a (reason, SQLState) constructor, as drivers report
     * connection failures.
     */
    static Throwable withState(Fault.Thrower own, String realistic, String sqlState, Object context) throws Exception {
        Class<?> type = own.type();
        if (type != null && isSqlException(type)) {
            try {
                Constructor<?> c = type.getDeclaredConstructor(String.class, String.class);
                c.setAccessible(true);
                return (Throwable) c.newInstance(own.text(realistic), sqlState);
            } catch (NoSuchMethodException e) {
                // Fall back to the fault's own constructor.
            }
        }
        return own.build(realistic);
    }

    /** A {@code java.sql} exception by name, through the loader of {@code context}. */
    static Throwable sqlException(Object context, String className, String reason, String sqlState) {
        try {
            ClassLoader loader = context == null ? null : context.getClass().getClassLoader();
            if (loader == null) {
                loader = ClassLoader.getPlatformClassLoader();
            }
            Class<?> type = Class.forName(className, true, loader);
            return (Throwable) type.getConstructor(String.class, String.class).newInstance(reason, sqlState);
        } catch (Exception e) {
            return new IllegalStateException(reason);
        }
    }

    static boolean isSqlException(Class<?> type) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            if (c.getName().equals("java.sql.SQLException")) {
                return true;
            }
        }
        return false;
    }
}
