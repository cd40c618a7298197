package io.faultline.boot;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;

/** Class patterns of scenarios: '*' within a package segment, '**' whole segments, '?' one character. */
final class ClassGlob {
    static boolean matches(String pattern, String className) {
        return segments(pattern.split("\\.", -1), 0, className.split("\\.", -1), 0);
    }

    /**
     * Whether {@code type} matches {@code pattern}; with {@code subtypes}, whether it or any
     * of its superclasses or interfaces does.
     */
    static boolean matches(String pattern, Class<?> type, boolean subtypes) {
        if (!subtypes) {
            return matches(pattern, type.getName());
        }
        ArrayDeque<Class<?>> todo = new ArrayDeque<>();
        todo.add(type);
        java.util.Set<Class<?>> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<Class<?>, Boolean>());
        while (!todo.isEmpty()) {
            Class<?> c = todo.poll();
            if (c == null || !seen.add(c)) {
                continue;
            }
            if (matches(pattern, c.getName())) {
                return true;
            }
            if (c.getSuperclass() != null) {
                todo.add(c.getSuperclass());
            }
            for (Class<?> i : c.getInterfaces()) {
                todo.add(i);
            }
        }
        return false;
    }

    private static boolean segments(String[] p, int pi, String[] n, int ni) {
        if (pi == p.length) {
            return ni == n.length;
        }
        if (p[pi].equals("**")) {
            if (pi == p.length - 1) {
                return ni < n.length;
            }
            for (int skip = ni; skip <= n.length; skip++) {
                if (segments(p, pi + 1, n, skip)) {
                    return true;
                }
            }
            return false;
        }
        return ni < n.length && Fault.Glob.matches(p[pi], n[ni]) && segments(p, pi + 1, n, ni + 1);
    }
}
