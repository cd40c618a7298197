package io.faultline.boot;

import java.lang.reflect.Method;

/**
 * The {@code jdbc-connect} preset: getting a database connection, from a
 * {@code javax.sql.DataSource} (pools such as HikariCP included: the pool cannot get a
 * connection) or a {@code java.sql.Driver} (and so {@code DriverManager}): the database is
 * unreachable. A data source that opens its connection through a driver is one call.
 */
final class JdbcConnectPreset extends Preset {
    private static final int DATA_SOURCE = 1;
    private static final int DRIVER = 2;

    private final String url;

    JdbcConnectPreset(Keys keys, int status, String throwName) {
        super("jdbc-connect", status, throwName);
        this.url = keys.get("url");
    }

    @Override
    int roleOf(String method, String descriptor) {
        if (method.equals("getConnection")) {
            return DATA_SOURCE;
        }
        if (method.equals("connect") && descriptor.startsWith("(Ljava/lang/String;")) {
            return DRIVER;
        }
        return NONE;
    }

    @Override
    String match(int role, Call call) {
        String target = role == DRIVER ? (String) call.arg(0) : dataSourceUrl(call.self);
        if (url != null && !glob(url, target)) {
            return null;
        }
        return target != null ? target : call.self.getClass().getName();
    }

    /**
     * A data source's URL through the getter its class has (HikariCP {@code getJdbcUrl},
     * most drivers {@code getUrl} or {@code getURL}); null when it has none.
     */
    static String dataSourceUrl(Object dataSource) {
        for (String getter : new String[] {"getJdbcUrl", "getUrl", "getURL"}) {
            try {
                Method m = dataSource.getClass().getMethod(getter);
                if (m.getReturnType() == String.class) {
                    Object v = m.invoke(dataSource);
                    if (v != null) {
                        return (String) v;
                    }
                }
            } catch (Exception e) {
                // Try the next getter.
            }
        }
        return null;
    }

    @Override
    Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
        return Jdbc.withState(own, "Connection refused: the database cannot be reached", "08001", call.self);
    }

    /** HikariCP's connection timeout, or the data source's login timeout. */
    @Override
    long timeoutNanos(int role, Call call) throws Exception {
        if (role != DATA_SOURCE) {
            return 0L;
        }
        try {
            Method m = call.self.getClass().getMethod("getConnectionTimeout");
            Object ms = m.invoke(call.self);
            if (ms instanceof Long && (Long) ms > 0) {
                return (Long) ms * 1_000_000L;
            }
        } catch (NoSuchMethodException e) {
            // Not a pool with a connection timeout.
        }
        return secondsToNanos(invoke(call.self, "javax.sql.CommonDataSource", "getLoginTimeout"));
    }

    @Override
    Throwable timeout(int role, Call call) {
        return Jdbc.sqlException(call.self, "java.sql.SQLTransientConnectionException",
                "Connection is not available, request timed out (injected by faultline)", "08001");
    }
}
