package presets;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A small service for the command-line tests: every 50 ms it updates an order and a
 * customer in an H2 database (prepared statements), and prints one line per statement:
 * "round N orders ok" or "round N orders failed: EXCEPTION". Prints "ready" first; runs for
 * the seconds given (default 60).
 */
public final class JdbcService {
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        try (Connection c = DriverManager.getConnection("jdbc:h2:mem:service;DB_CLOSE_DELAY=-1")) {
            JdbcCases.setUp(c);
            PreparedStatement orders = c.prepareStatement("UPDATE orders SET total = total + 1 WHERE id = 1");
            PreparedStatement customers = c.prepareStatement("UPDATE customers SET name = 'x' WHERE id = 1");
            System.out.println("ready");
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            for (int round = 1; System.nanoTime() < end; round++) {
                run(round, "orders", orders);
                run(round, "customers", customers);
                Thread.sleep(50);
            }
        }
    }

    private static void run(int round, String table, PreparedStatement statement) {
        try {
            statement.executeUpdate();
            System.out.println("round " + round + " " + table + " ok");
        } catch (SQLException e) {
            System.out.println("round " + round + " " + table + " failed: " + e);
        }
    }
}
