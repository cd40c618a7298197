package jdbcbench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;

/**
 * The JVM side of row 11 of {@code cargo bench --bench suite} (the {@code jdbc} preset armed,
 * statements it does not match): a prepared {@code SELECT v FROM t WHERE id = ?} run on H2 in
 * memory with {@code executeQuery} and {@code ResultSet.next()} in a loop. After a warm-up it
 * measures fixed-length iterations, printing one line per iteration:
 *
 * <pre>RESULT run &lt;ns per statement&gt; &lt;statements&gt;</pre>
 *
 * Usage: {@code jdbcbench.Main WARMUP_MS ITERATIONS ITERATION_MS [check|probe]}. After the
 * timed iterations:
 * <ul>
 *   <li>{@code check} (the faultline configuration: the agent is loaded with
 *       {@code -agentpath:} and arms the preset from a scenario file): the agent's status is
 *       printed as {@code CHECK status <json>} (the methods the preset reached, its counters)
 *       and every fault is removed, which writes the fault's counters to the events file.</li>
 *   <li>{@code probe} (the Byteman configuration): a prepared {@code UPDATE orders ...} is
 *       executed with {@code executeQuery}, which the rule must refuse:
 *       {@code CHECK probe fired <exception>} proves the rule was in place and does the job
 *       during the measurement, {@code CHECK probe not-fired <what happened>} that it did not.</li>
 * </ul>
 * Only {@link Check} uses the faultline API, so the other configurations never load a
 * faultline class.
 */
public final class Main {
    /** Statements per timed batch: a few milliseconds, so the clock is read rarely. */
    private static final int BATCH = 1_000;
    /** Rows of the table; the loop queries ids 0..ROWS-1 in turn. */
    private static final int ROWS = 1024;

    private static long sink;

    public static void main(String[] args) throws Exception {
        long warmupMs = Long.parseLong(args[0]);
        int iterations = Integer.parseInt(args[1]);
        long iterationMs = Long.parseLong(args[2]);
        String after = args.length > 3 ? args[3] : "";

        try (Connection c = DriverManager.getConnection("jdbc:h2:mem:bench;DB_CLOSE_DELAY=-1")) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)");
                s.execute("CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(20))");
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO t (id, v) VALUES (?, ?)")) {
                for (int i = 0; i < ROWS; i++) {
                    insert.setInt(1, i);
                    insert.setInt(2, i * 7);
                    insert.executeUpdate();
                }
            }
            try (PreparedStatement select = c.prepareStatement("SELECT v FROM t WHERE id = ?")) {
                timed(select, warmupMs * 1_000_000L);
                for (int i = 0; i < iterations; i++) {
                    long[] statements = new long[1];
                    double ns = timed(select, iterationMs * 1_000_000L, statements);
                    System.out.println("RESULT run " + ns + " " + statements[0]);
                }
            }
            if (after.equals("probe")) {
                probe(c);
            }
        }
        if (after.equals("check")) {
            Check.report();
        }
        // Consume the sink so the loop's result is live.
        System.out.println("SINK " + sink);
    }

    private static double timed(PreparedStatement select, long nanos) throws SQLException {
        return timed(select, nanos, new long[1]);
    }

    /** Runs batches for at least {@code nanos}; returns ns per statement. */
    private static double timed(PreparedStatement select, long nanos, long[] statements) throws SQLException {
        long count = 0;
        long start = System.nanoTime();
        long now;
        do {
            sink += batch(select, BATCH);
            count += BATCH;
            now = System.nanoTime();
        } while (now - start < nanos);
        statements[0] = count;
        return (double) (now - start) / count;
    }

    private static long batch(PreparedStatement select, int n) throws SQLException {
        long acc = 0;
        for (int i = 0; i < n; i++) {
            select.setInt(1, i & (ROWS - 1));
            try (ResultSet rs = select.executeQuery()) {
                if (rs.next()) {
                    acc += rs.getInt(1);
                } else {
                    throw new IllegalStateException("no row for id " + (i & (ROWS - 1)));
                }
            }
        }
        return acc;
    }

    /** Executes a statement the fault is aimed at; says whether it was refused as it should be. */
    private static void probe(Connection c) throws SQLException {
        try (PreparedStatement update = c.prepareStatement("UPDATE orders SET status = ? WHERE id = ?")) {
            update.setString(1, "paid");
            update.setInt(2, 1);
            try {
                update.executeQuery();
                System.out.println("CHECK probe not-fired (no exception)");
            } catch (SQLTransientConnectionException e) {
                System.out.println("CHECK probe fired " + e.getClass().getName());
            } catch (SQLException e) {
                System.out.println("CHECK probe not-fired " + e.getClass().getName());
            }
        }
    }

    /** The faultline API calls of the {@code check} mode, loaded only in that mode. */
    private static final class Check {
        private Check() {}

        static void report() {
            System.out.println("CHECK status " + io.faultline.Faultline.status().replace('\n', ' '));
            io.faultline.Faultline.stopAll();
        }
    }
}
