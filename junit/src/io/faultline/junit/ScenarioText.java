package io.faultline.junit;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites scenario TOML before it is armed for a test: adds {@code scope = "TOKEN"} to every
 * {@code [[fault]]} table, and, when ids must be made unique in the JVM, appends a suffix to
 * every id (giving tables without one their default id {@code fN} first). Line numbers of the
 * agent's errors are mapped back to the original text.
 */
final class ScenarioText {
    private static final Pattern FAULT_HEADER = Pattern.compile("^\\s*\\[\\[\\s*fault\\s*\\]\\]\\s*(#[^\n]*)?$");
    private static final Pattern OTHER_HEADER = Pattern.compile("^\\s*\\[.*$");
    private static final Pattern ID_LINE =
            Pattern.compile("^(\\s*id\\s*=\\s*)(?:\"([^\"\\\\]*)\"|'([^']*)')(\\s*(?:#[^\n]*)?)$");

    /** The rewritten text. */
    final String text;
    /** The number of {@code [[fault]]} tables found. */
    final int tables;
    private final int[] originalLine; // 1-based line of the rewritten text -> line of the original

    private ScenarioText(String text, int tables, int[] originalLine) {
        this.text = text;
        this.tables = tables;
        this.originalLine = originalLine;
    }

    /**
     * @param scope  the scope token to add to every fault table, or null (global)
     * @param suffix appended to every id as {@code ID.SUFFIX}, or null to keep the ids
     */
    static ScenarioText rewrite(String original, String scope, String suffix) {
        String[] lines = original.split("\n", -1);
        // First pass: where the fault tables start, and which of them have an id line.
        List<Integer> headers = new ArrayList<>();
        List<Boolean> hasId = new ArrayList<>();
        boolean[] code = new boolean[lines.length]; // outside multi-line strings
        String openQuote = null;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            code[i] = openQuote == null;
            if (openQuote == null) {
                if (FAULT_HEADER.matcher(line).matches()) {
                    headers.add(i);
                    hasId.add(false);
                } else if (OTHER_HEADER.matcher(line).matches()) {
                    headers.add(-1 - i); // ends the current fault table
                    hasId.add(false);
                } else if (!headers.isEmpty() && headers.get(headers.size() - 1) >= 0
                        && ID_LINE.matcher(line).matches()) {
                    hasId.set(hasId.size() - 1, true);
                }
            }
            openQuote = multiline(line, openQuote);
        }

        StringBuilder out = new StringBuilder();
        List<Integer> map = new ArrayList<>();
        int tables = 0;
        int table = -1;
        boolean inFault = false;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int h = headers.indexOf(i);
            if (code[i] && h >= 0) {
                inFault = true;
                table = h;
                tables++;
                emit(out, map, line, i, i == lines.length - 1);
                if (scope != null) {
                    emit(out, map, "scope = " + quote(scope), i, false);
                }
                if (suffix != null && !hasId.get(h)) {
                    emit(out, map, "id = " + quote("f" + tables + "." + suffix), i, false);
                }
                continue;
            }
            if (code[i] && headers.contains(-1 - i)) {
                inFault = false;
            }
            if (code[i] && inFault && suffix != null) {
                Matcher m = ID_LINE.matcher(line);
                if (m.matches()) {
                    String id = m.group(2) != null ? m.group(2) : m.group(3);
                    line = m.group(1) + quote(id + "." + suffix) + m.group(4);
                }
            }
            emit(out, map, line, i, i == lines.length - 1);
        }
        int[] originalLine = new int[map.size()];
        for (int i = 0; i < originalLine.length; i++) {
            originalLine[i] = map.get(i);
        }
        return new ScenarioText(out.toString(), tables, originalLine);
    }

    private static void emit(StringBuilder out, List<Integer> map, String line, int originalIndex, boolean last) {
        out.append(line);
        if (!last) {
            out.append('\n');
        }
        map.add(originalIndex + 1);
    }

    /** The delimiter of a multi-line string still open after this line, given the one open before it. */
    private static String multiline(String line, String open) {
        int i = 0;
        while (i < line.length()) {
            if (open == null) {
                char c = line.charAt(i);
                if (c == '#') {
                    return null;
                }
                if (line.startsWith("\"\"\"", i) || line.startsWith("'''", i)) {
                    open = line.substring(i, i + 3);
                    i += 3;
                    continue;
                }
                if (c == '"' || c == '\'') { // a one-line string: skip it
                    int end = i + 1;
                    while (end < line.length() && line.charAt(end) != c) {
                        end += (c == '"' && line.charAt(end) == '\\') ? 2 : 1;
                    }
                    i = end + 1;
                    continue;
                }
                i++;
            } else {
                if (open.equals("\"\"\"") && line.charAt(i) == '\\') {
                    i += 2;
                    continue;
                }
                if (line.startsWith(open, i)) {
                    i += 3;
                    open = null;
                    continue;
                }
                i++;
            }
        }
        return open;
    }

    /**
     * The agent's message with the line number after {@code origin} mapped back to the original
     * text, or removed when {@code keepLine} is false (text generated from an annotation).
     */
    String explain(String message, String origin, boolean keepLine) {
        if (message == null) {
            return origin + ": rejected by the agent";
        }
        String prefix = origin + ":";
        if (message.startsWith(prefix)) {
            int start = prefix.length();
            int end = start;
            while (end < message.length() && Character.isDigit(message.charAt(end))) {
                end++;
            }
            if (end > start && end < message.length() && message.charAt(end) == ':') {
                int line = Integer.parseInt(message.substring(start, end));
                String rest = message.substring(end);
                if (!keepLine) {
                    return origin + rest;
                }
                int mapped = line >= 1 && line <= originalLine.length ? originalLine[line - 1] : line;
                return origin + ":" + mapped + rest;
            }
        }
        return message;
    }

    static String quote(String s) {
        return io.faultline.FaultBuilder.tomlString(s);
    }
}
