package broadbench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.apache.tomcat.jdbc.pool.PoolProperties;

/**
 * The JVM side of row 15 of {@code cargo bench --bench suite} (broad patterns on a real
 * service): Tomcat 10 embedded (NIO connector on 127.0.0.1, an ephemeral port) with one servlet,
 * {@code GET /item?id=N}, which borrows a connection from Tomcat's JDBC pool
 * ({@code org.apache.tomcat.jdbc.pool}), runs a prepared {@code SELECT v, name FROM item WHERE
 * id = ?} on H2 in memory and answers the row as text with its length. The suite's client loads
 * it over keep-alive connections.
 *
 * <p>Prints {@code READY <port>} once it serves, then reads commands on stdin:
 * {@code check} prints the agent's status as {@code CHECK status <json>} and removes every
 * fault (which writes each fault's counters to the events file; the faultline configuration
 * only), {@code quit} (or the end of stdin) stops the server and exits. Only {@link Check}
 * uses the faultline API, so the agent-free configuration never loads a faultline class.
 */
public final class Main {
    /** Rows of the table; clients ask for ids 0..ROWS-1. */
    static final int ROWS = 1024;
    /** Kept: java.util.logging holds its loggers weakly. */
    private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger("org.apache");

    public static void main(String[] args) throws Exception {
        QUIET.setLevel(java.util.logging.Level.SEVERE);
        DataSource pool = pool();
        Tomcat tomcat = new Tomcat();
        Path base = Files.createTempDirectory("faultline-broadbench");
        tomcat.setBaseDir(base.toString());
        tomcat.setPort(0);
        Connector connector = tomcat.getConnector();
        connector.setProperty("address", "127.0.0.1");
        connector.setProperty("maxThreads", "16");
        // The suite's clients keep their connections for the whole run.
        connector.setProperty("maxKeepAliveRequests", "-1");
        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "item", new ItemServlet(pool));
        context.addServletMapping("/item", "item");
        tomcat.start();
        System.out.println("READY " + connector.getLocalPort());
        System.out.flush();

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("check")) {
                Check.report();
            } else if (line.equals("quit")) {
                break;
            }
            System.out.flush();
        }
        tomcat.stop();
        tomcat.destroy();
        pool.close();
        System.out.println("STOPPED");
    }

    /** H2 in memory behind Tomcat's JDBC pool, filled with ROWS rows. */
    private static DataSource pool() throws SQLException {
        PoolProperties p = new PoolProperties();
        p.setUrl("jdbc:h2:mem:broad;DB_CLOSE_DELAY=-1");
        p.setDriverClassName("org.h2.Driver");
        p.setInitialSize(16);
        p.setMaxActive(16);
        p.setMaxIdle(16);
        p.setMinIdle(16);
        p.setJmxEnabled(false);
        DataSource pool = new DataSource(p);
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE item (id INT PRIMARY KEY, v INT NOT NULL, name VARCHAR(40) NOT NULL)");
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO item (id, v, name) VALUES (?, ?, ?)")) {
                for (int i = 0; i < ROWS; i++) {
                    insert.setInt(1, i);
                    insert.setInt(2, i * 7);
                    insert.setString(3, "item-" + i);
                    insert.executeUpdate();
                }
            }
        }
        return pool;
    }

    /** {@code GET /item?id=N}: one row through the pool, as {@code id v name}. */
    static final class ItemServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final transient DataSource pool;

        ItemServlet(DataSource pool) {
            this.pool = pool;
        }

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse res) throws IOException {
            int id;
            try {
                id = Integer.parseInt(req.getParameter("id"));
            } catch (NumberFormatException e) {
                res.sendError(400, "id must be a number");
                return;
            }
            String body;
            try (Connection c = pool.getConnection();
                 PreparedStatement select = c.prepareStatement("SELECT v, name FROM item WHERE id = ?")) {
                select.setInt(1, id);
                try (ResultSet rs = select.executeQuery()) {
                    if (!rs.next()) {
                        res.sendError(404, "no item " + id);
                        return;
                    }
                    body = id + " " + rs.getInt(1) + " " + rs.getString(2) + "\n";
                }
            } catch (SQLException e) {
                res.sendError(500, e.toString());
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            res.setStatus(200);
            res.setContentType("text/plain");
            res.setContentLength(bytes.length);
            res.getOutputStream().write(bytes);
        }
    }

    /** The faultline API calls of the {@code check} command, loaded only when asked. */
    private static final class Check {
        private Check() {}

        static void report() {
            System.out.println("CHECK status " + io.faultline.Faultline.status().replace('\n', ' '));
            io.faultline.Faultline.stopAll();
        }
    }
}
