package presets;

import static presets.Check.arm;
import static presets.Check.check;
import static presets.Check.injected;
import static presets.Check.injections;
import static presets.Check.report;
import static presets.Check.thrown;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.faultline.FaultEvent;
import io.faultline.Faultline;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The jdbc and jdbc-connect presets against real databases (PostgreSQL, MariaDB, H2) and a
 * real pool (HikariCP): every case takes the database's JDBC URL and asserts what the
 * application code saw. Run by tests/presets_jdbc.rs.
 */
public final class JdbcCases {
    public static void main(String[] args) {
        Check.run(JdbcCases.class, args);
    }

    private static final String TRANSIENT = "java.sql.SQLTransientConnectionException";

    /** Fresh tables: orders, orders_archive, customers, one row each. */
    static void setUp(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String table : new String[] {"orders", "orders_archive", "customers"}) {
                s.execute("DROP TABLE IF EXISTS " + table);
            }
            s.execute("CREATE TABLE orders (id INT PRIMARY KEY, total INT)");
            s.execute("CREATE TABLE orders_archive (id INT PRIMARY KEY, total INT)");
            s.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20))");
            s.execute("INSERT INTO orders VALUES (1, 10)");
            s.execute("INSERT INTO orders_archive VALUES (1, 10)");
            s.execute("INSERT INTO customers VALUES (1, 'ada')");
        }
    }

    static int total(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT total FROM orders WHERE id = 1")) {
            r.next();
            return r.getInt(1);
        }
    }

    /**
     * An UPDATE on orders fails, prepared or plain, alone or in a batch; an UPDATE on
     * customers or orders_archive and a SELECT on orders do not; the failed UPDATE changed
     * nothing; every injection names the preset and the SQL; stopping restores service.
     */
    static void updatesOnOrdersFail(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            setUp(c);
            arm("[[fault]]", "id = \"orders-down\"", "kind = \"exception\"", "preset = \"jdbc\"",
                    "sql = '(?i)^\\s*update\\s+orders\\b'");
            int expected = 0;
            try (PreparedStatement up = c.prepareStatement("UPDATE orders SET total = ? WHERE id = ?")) {
                up.setInt(1, 99);
                up.setInt(2, 1);
                check(injected(thrown(up::executeUpdate), TRANSIENT), "prepared UPDATE orders fails");
                expected++;
                check(injected(thrown(up::execute), TRANSIENT), "prepared UPDATE orders fails through execute()");
                expected++;
                up.addBatch();
                check(injected(thrown(up::executeBatch), TRANSIENT), "a prepared batch on orders fails");
                expected++;
            }
            try (Statement s = c.createStatement()) {
                Throwable plain = thrown(() -> s.executeUpdate("update orders set total = 77"));
                check(injected(plain, TRANSIENT), "plain UPDATE orders fails: " + plain);
                expected++;
                check(plain instanceof SQLException && "08006".equals(((SQLException) plain).getSQLState()),
                        "it carries SQLState 08006 (connection failure)");
                s.addBatch("UPDATE customers SET name = 'x'");
                s.addBatch("UPDATE orders SET total = 1");
                check(injected(thrown(s::executeBatch), TRANSIENT), "a plain batch holding an UPDATE on orders fails");
                expected++;
                s.clearBatch();
                s.addBatch("UPDATE customers SET name = 'bob'");
                check(thrown(s::executeBatch) == null, "a batch on customers runs");
                check(thrown(() -> s.executeUpdate("UPDATE customers SET name = 'cy'")) == null, "UPDATE customers runs");
                check(thrown(() -> s.executeUpdate("UPDATE orders_archive SET total = 5")) == null,
                        "UPDATE orders_archive runs (the regex ends at a word boundary)");
                check(thrown(() -> s.executeQuery("SELECT * FROM orders").close()) == null, "SELECT orders runs");
            }
            try (PreparedStatement sel = c.prepareStatement("SELECT total FROM orders WHERE id = ?");
                 PreparedStatement cust = c.prepareStatement("UPDATE customers SET name = ? WHERE id = 1")) {
                sel.setInt(1, 1);
                check(thrown(() -> sel.executeQuery().close()) == null, "prepared SELECT orders runs");
                cust.setString(1, "dee");
                check(thrown(cust::executeUpdate) == null, "prepared UPDATE customers runs");
            }
            check(total(c) == 10, "the failed UPDATEs changed nothing: total " + total(c));
            List<FaultEvent> fired = injections("orders-down");
            check(fired.size() == expected, "one injection per failed execution: " + fired.size() + " of " + expected
                    + " " + fired);
            for (FaultEvent e : fired) {
                check("jdbc".equals(e.preset()), "the event names the preset: " + e);
                check(e.matched() != null && e.matched().toLowerCase().contains("update orders"),
                        "the event names the SQL: " + e);
                check(TRANSIENT.equals(e.exception()), "the event names the exception: " + e);
            }
            report("matched", fired.get(0).matched());
            report("status", Faultline.status());
            Faultline.stopAll();
            try (Statement s = c.createStatement()) {
                check(s.executeUpdate("UPDATE orders SET total = 42 WHERE id = 1") == 1, "after stop, the UPDATE runs");
            }
            check(total(c) == 42, "and takes effect");
        }
    }

    /** operation = "select" fails the SELECTs only; a url glob that names another database, nothing. */
    static void operationAndUrlChooseTheStatements(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            setUp(c);
            String scheme = args[0].substring(0, args[0].indexOf(':', 5) + 1);
            arm("[[fault]]", "id = \"reads-down\"", "kind = \"exception\"", "preset = \"jdbc\"",
                    "operation = \"select\"", "url = \"" + scheme + "*\"",
                    "[[fault]]", "id = \"elsewhere\"", "kind = \"exception\"", "preset = \"jdbc\"",
                    "url = \"jdbc:nothing:*\"");
            try (Statement s = c.createStatement()) {
                check(injected(thrown(() -> s.executeQuery("SELECT * FROM customers").close()), TRANSIENT),
                        "SELECT fails");
                check(injected(thrown(() -> s.executeQuery("  /* report */ select 1").close()), TRANSIENT),
                        "a SELECT after a comment fails");
                check(thrown(() -> s.executeUpdate("UPDATE customers SET name = 'z'")) == null, "UPDATE runs");
                check(thrown(() -> s.executeUpdate("INSERT INTO customers VALUES (2, 'eve')")) == null, "INSERT runs");
            }
            check(injections("elsewhere").isEmpty(), "the fault on another URL never fired");
            check(injections("reads-down").size() == 2, "two SELECTs failed: " + injections("reads-down"));
            Faultline.stopAll();
        }
    }

    /**
     * Through HikariCP: a pooled statement (the pool's proxy wrapping the driver's) fails
     * once per execution, a latency fault delays it once, and a statement prepared before
     * the fault was armed is matched by the driver's own description of it.
     */
    static void throughAPool(String[] args) throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(args[0]);
        config.setMaximumPoolSize(2);
        try (HikariDataSource pool = new HikariDataSource(config); Connection c = pool.getConnection()) {
            setUp(c);
            PreparedStatement early = c.prepareStatement("UPDATE orders SET total = ? WHERE id = 1");
            arm("[[fault]]", "id = \"pool-down\"", "kind = \"exception\"", "preset = \"jdbc\"",
                    "sql = '(?i)^\\s*update\\s+orders\\b'",
                    "[[fault]]", "id = \"slow-customers\"", "kind = \"latency\"", "preset = \"jdbc\"",
                    "sql = '(?i)from customers'", "delay = \"200ms\"");
            try (PreparedStatement up = c.prepareStatement("UPDATE orders SET total = ? WHERE id = 1")) {
                for (int i = 0; i < 3; i++) {
                    up.setInt(1, i);
                    check(injected(thrown(up::executeUpdate), TRANSIENT), "pooled UPDATE orders fails");
                }
            }
            early.setInt(1, 5);
            check(injected(thrown(early::executeUpdate), TRANSIENT),
                    "a statement prepared before arming is matched too");
            early.close();
            check(injections("pool-down").size() == 4, "one injection per execution, not one per layer: "
                    + injections("pool-down"));
            long t0 = System.nanoTime();
            try (PreparedStatement q = c.prepareStatement("SELECT name FROM customers WHERE id = ?")) {
                q.setInt(1, 1);
                q.executeQuery().close();
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            check(ms >= 200, "the SELECT on customers waited the delay: " + ms + " ms");
            List<FaultEvent> slow = injections("slow-customers");
            check(slow.size() == 1, "the delay applied once, not once per layer: " + slow);
            check(slow.get(0).delayMillis() >= 200, "the event says how long: " + slow.get(0));
            Faultline.stopAll();
            try (PreparedStatement up = c.prepareStatement("UPDATE orders SET total = 7 WHERE id = 1")) {
                check(up.executeUpdate() == 1, "after stop, the pooled UPDATE runs");
            }
        }
    }

    /** The Java API builds a preset fault like any other; closing its handle removes it. */
    static void builtInCode(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            setUp(c);
            try (io.faultline.FaultHandle handle = Faultline.fault("exception").id("deletes-down").preset("jdbc")
                    .operation("delete").sql("customers").arm()) {
                try (Statement s = c.createStatement()) {
                    check(injected(thrown(() -> s.executeUpdate("DELETE FROM customers WHERE id = 9")), TRANSIENT),
                            "DELETE customers fails");
                    check(thrown(() -> s.executeUpdate("DELETE FROM orders WHERE id = 9")) == null,
                            "DELETE orders runs");
                    check(thrown(() -> s.executeQuery("SELECT * FROM customers").close()) == null,
                            "SELECT customers runs");
                }
                check(handle.injected() == 1, "the handle counts one injection: " + handle.injected());
            }
            try (Statement s = c.createStatement()) {
                s.executeUpdate("DELETE FROM customers WHERE id = 9");
            }
        }
    }

    /** A hang on a statement with a query timeout ends as the driver's timeout would: SQLTimeoutException. */
    static void aHangEndsAtTheQueryTimeout(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            setUp(c);
            arm("[[fault]]", "id = \"stuck\"", "kind = \"hang\"", "preset = \"jdbc\"", "sql = 'customers'");
            try (Statement s = c.createStatement()) {
                s.setQueryTimeout(1);
                long t0 = System.nanoTime();
                Throwable t = thrown(() -> s.executeQuery("SELECT * FROM customers").close());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                check(t != null && t.getClass().getName().equals("java.sql.SQLTimeoutException"),
                        "the query timed out: " + t);
                check(ms >= 1000, "at its timeout of 1 s: " + ms + " ms");
            }
            Faultline.stopAll();
        }
    }

    /**
     * jdbc-connect: getting a connection for a matching URL fails (DriverManager, and a pool's
     * getConnection); another URL connects; stopping restores it.
     */
    static void connectingFails(String[] args) throws Exception {
        String url = args[0];
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(1);
        try (HikariDataSource pool = new HikariDataSource(config)) {
            pool.getConnection().close();
            String scheme = url.substring(0, url.indexOf(':', 5) + 1);
            arm("[[fault]]", "id = \"db-unreachable\"", "kind = \"exception\"", "preset = \"jdbc-connect\"",
                    "url = \"" + scheme + "*\"");
            Throwable direct = thrown(() -> DriverManager.getConnection(url).close());
            check(injected(direct, TRANSIENT), "DriverManager cannot connect: " + direct);
            check("08001".equals(((SQLException) direct).getSQLState()), "SQLState 08001 (cannot establish)");
            Throwable pooled = thrown(() -> pool.getConnection().close());
            check(injected(pooled, TRANSIENT), "the pool cannot hand out a connection: " + pooled);
            check(thrown(() -> DriverManager.getConnection("jdbc:h2:mem:elsewhere").close()) == null
                    || scheme.equals("jdbc:h2:"), "another database still connects");
            for (FaultEvent e : injections("db-unreachable")) {
                check("jdbc-connect".equals(e.preset()) && e.matched() != null && e.matched().startsWith(scheme),
                        "the event names the URL: " + e);
            }
            Faultline.stopAll();
            pool.getConnection().close();
            DriverManager.getConnection(url).close();
        }
    }
}
