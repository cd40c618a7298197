package io.faultline.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The {@code jdbc} preset: statements executed through the JDBC API, on any driver.
 *
 * <p>It acts where a statement is executed ({@code execute}, {@code executeQuery},
 * {@code executeUpdate}, {@code executeLargeUpdate}, {@code executeBatch},
 * {@code executeLargeBatch} of every {@code java.sql.Statement}) and reads: the SQL passed to
 * a plain statement; for a prepared or callable statement, the SQL its connection's
 * {@code prepareStatement}/{@code prepareCall} was given (recorded at that call's exit); for
 * a batch, the SQL of each {@code addBatch}. A statement prepared before the fault was armed
 * is read through the driver's own description of it ({@code toString}), which names the SQL
 * for the common drivers. A pool's proxy statement and the driver's statement it wraps are
 * one execution (the nested call is not offered again).
 */
final class JdbcPreset extends Preset {
    private static final int EXECUTE_SQL = 1;
    private static final int EXECUTE_PREPARED = 2;
    private static final int EXECUTE_BATCH = 3;
    private static final int PREPARE = 4;
    private static final int ADD_BATCH = 5;
    private static final int CLEAR_BATCH = 6;

    private final Pattern sql;
    private final String operation;
    private final String url;

    /** What is known of each statement: its SQL (prepared), its batch (plain). */
    private final WeakIdentity<StatementInfo> statements = new WeakIdentity<>();
    /** Each connection's URL, once read. */
    private final WeakIdentity<String> urls = new WeakIdentity<>();

    private static final class StatementInfo {
        volatile String sql;
        final List<String> batch = new ArrayList<>();
    }

    JdbcPreset(Keys keys, int status, String throwName) {
        super("jdbc", status, throwName);
        this.sql = keys.regex("sql");
        this.operation = keys.get("operation");
        this.url = keys.get("url");
    }

    @Override
    int roleOf(String method, String descriptor) {
        boolean sqlFirst = descriptor.startsWith("(Ljava/lang/String;");
        switch (method) {
            case "execute":
            case "executeQuery":
            case "executeUpdate":
            case "executeLargeUpdate":
                return sqlFirst ? EXECUTE_SQL : descriptor.startsWith("()") ? EXECUTE_PREPARED : NONE;
            case "executeBatch":
            case "executeLargeBatch":
                return descriptor.startsWith("()") ? EXECUTE_BATCH : NONE;
            case "prepareStatement":
            case "prepareCall":
                return sqlFirst ? PREPARE : NONE;
            case "addBatch":
                return sqlFirst ? ADD_BATCH : NONE;
            case "clearBatch":
                return CLEAR_BATCH;
            default:
                return NONE;
        }
    }

    @Override
    boolean acts(int role) {
        return role == EXECUTE_SQL || role == EXECUTE_PREPARED || role == EXECUTE_BATCH;
    }

    @Override
    void observeEntry(int role, Call call, Depth depth) {
        switch (role) {
            case PREPARE:
                depth.pending.push(String.valueOf(call.arg(0)));
                return;
            case ADD_BATCH: {
                StatementInfo info = statements.getOrPut(call.self, new StatementInfo());
                synchronized (info.batch) {
                    info.batch.add(String.valueOf(call.arg(0)));
                }
                return;
            }
            case CLEAR_BATCH: {
                StatementInfo info = statements.get(call.self);
                if (info != null) {
                    synchronized (info.batch) {
                        info.batch.clear();
                    }
                }
                return;
            }
            default:
        }
    }

    @Override
    void observeExit(int role, Object result, Depth depth) {
        if (role != PREPARE) {
            return;
        }
        Object given = depth.pending.poll();
        if (result != null && given != null) {
            statements.getOrPut(result, new StatementInfo()).sql = (String) given;
        }
    }

    @Override
    void observeThrown(int role, Depth depth) {
        if (role == PREPARE) {
            depth.pending.poll();
        }
    }

    @Override
    String match(int role, Call call) throws Exception {
        List<String> texts = new ArrayList<>(1);
        switch (role) {
            case EXECUTE_SQL:
                texts.add(String.valueOf(call.arg(0)));
                break;
            case EXECUTE_PREPARED:
                texts.add(preparedSql(call.self));
                break;
            case EXECUTE_BATCH: {
                StatementInfo info = statements.get(call.self);
                if (info != null && info.sql != null) {
                    texts.add(info.sql);
                } else if (info != null) {
                    synchronized (info.batch) {
                        texts.addAll(info.batch);
                    }
                }
                if (texts.isEmpty()) {
                    texts.add(preparedSql(call.self));
                }
                break;
            }
            default:
                return null;
        }
        if (url != null && !glob(url, connectionUrl(call.self))) {
            return null;
        }
        for (String text : texts) {
            if (text == null) {
                continue;
            }
            if (operation != null && !operation.equals(operationOf(text))) {
                continue;
            }
            if (sql != null && !sql.matcher(text).find()) {
                continue;
            }
            return role == EXECUTE_BATCH && texts.size() > 1 ? "batch: " + text : text;
        }
        return null;
    }

    /**
     * The SQL of a prepared statement: recorded when it was prepared, else read from the
     * driver's description of it (pgjdbc, MariaDB, H2 and HikariCP's proxies all name the
     * SQL in toString, after a prefix of their own), from its first SQL keyword on.
     */
    private String preparedSql(Object statement) {
        StatementInfo info = statements.get(statement);
        if (info != null && info.sql != null) {
            return info.sql;
        }
        String described = String.valueOf(statement);
        java.util.regex.Matcher m = FIRST_KEYWORD.matcher(described);
        String sqlText = m.find() ? described.substring(m.start()) : described;
        statements.getOrPut(statement, new StatementInfo()).sql = sqlText;
        return sqlText;
    }

    private static final Pattern FIRST_KEYWORD = Pattern.compile(
            "(?i)\\b(select|insert|update|delete|with|merge|call|create|alter|drop|truncate|replace|upsert)\\b");

    /** The JDBC URL of the statement's connection (read once per connection). */
    private String connectionUrl(Object statement) throws Exception {
        Object connection = invoke(statement, "java.sql.Statement", "getConnection");
        if (connection == null) {
            return null;
        }
        String known = urls.get(connection);
        if (known != null) {
            return known;
        }
        Object meta = invoke(connection, "java.sql.Connection", "getMetaData");
        String read = meta == null ? null : (String) invoke(meta, "java.sql.DatabaseMetaData", "getURL");
        if (read != null) {
            urls.put(connection, read);
        }
        return read;
    }

    /**
     * The statement's kind by its first word, comments and parentheses skipped: select,
     * insert, update, delete, or other. A {@code WITH} query is the statement it leads to.
     */
    static String operationOf(String sqlText) {
        String word = firstWord(sqlText);
        switch (word) {
            case "select":
            case "insert":
            case "update":
            case "delete":
                return word;
            case "with": {
                String lower = sqlText.toLowerCase(Locale.ROOT);
                for (String dml : new String[] {"insert", "update", "delete"}) {
                    if (Pattern.compile("\\b" + dml + "\\b").matcher(lower).find()) {
                        return dml;
                    }
                }
                return "select";
            }
            default:
                return "other";
        }
    }

    private static String firstWord(String text) {
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (Character.isWhitespace(c) || c == '(') {
                i++;
            } else if (text.startsWith("--", i)) {
                int end = text.indexOf('\n', i);
                i = end < 0 ? n : end + 1;
            } else if (text.startsWith("/*", i)) {
                int end = text.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else {
                break;
            }
        }
        int start = i;
        while (i < n && Character.isLetter(text.charAt(i))) {
            i++;
        }
        return text.substring(start, i).toLowerCase(Locale.ROOT);
    }

    @Override
    Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
        return Jdbc.withState(own, "An I/O error occurred while sending to the database", "08006", call.self);
    }

    /** The statement's query timeout, if it has one. */
    @Override
    long timeoutNanos(int role, Call call) throws Exception {
        return secondsToNanos(invoke(call.self, "java.sql.Statement", "getQueryTimeout"));
    }

    @Override
    Throwable timeout(int role, Call call) {
        return Jdbc.sqlException(call.self, "java.sql.SQLTimeoutException",
                "The query timed out (query timeout reached; injected by faultline)", "57014");
    }
}
