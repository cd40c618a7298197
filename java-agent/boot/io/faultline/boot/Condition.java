package io.faultline.boot;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Collection;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A fault's {@code when}: the expression the agent parsed (one parser, in the agent) and
 * built from these nodes when the fault was armed. Evaluated on the calling thread with the
 * operands the call captured, passed as they travel from the instrumented method: arg0 and
 * arg1 as raw long bits or references ({@code a0 o0 a1 o1}), the receiver, all operands
 * boxed ({@code all}, when a later argument is named), and the result at exit ({@code rp}
 * bits, {@code ro} reference). Nothing is allocated for a comparison of a primitive argument
 * with a number, the common case.
 *
 * <p>An operand that cannot be read (a member missing on a subtype, a getter that throws, an
 * operand the call did not capture) makes the condition false; the fault reports it once.
 */
abstract class Condition {
    /**
     * Whether the condition holds. {@code shape} describes the method (null for a classic
     * site, which captures nothing).
     */
    abstract boolean test(Shape shape, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp,
                          Object ro) throws Unreadable;

    /** True when evaluating runs no JDK code that a fault could target (no guard needed). */
    boolean simple() {
        return false;
    }

    /** Why an operand could not be read; carries no stack trace (it is expected, and cheap). */
    static final class Unreadable extends Exception {
        Unreadable(String message) {
            super(message, null, false, false);
        }
    }

    // ------------------------------------------------------------------ built by the agent

    static Condition and(Condition a, Condition b) {
        return new And(a, b);
    }

    static Condition or(Condition a, Condition b) {
        return new Or(a, b);
    }

    static Condition not(Condition a) {
        return new Not(a);
    }

    /** {@code op}: 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >=. */
    static Condition compare(int op, Term left, Term right) {
        Condition fast = FastCompare.of(op, left, right);
        return fast != null ? fast : new Compare(op, left, right);
    }

    static Condition contains(Term left, Term right) {
        return new Contains(left, right);
    }

    /** @throws IllegalArgumentException when the regular expression is invalid */
    static Condition matches(Term left, String regex) {
        try {
            return new Matches(left, Pattern.compile(regex));
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("invalid regular expression '" + regex + "': " + e.getDescription()
                    + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
        }
    }

    static Condition in(Term left, Object[] items) {
        return new In(left, items);
    }

    static Condition truthy(Term term) {
        return new Truthy(term);
    }

    // ------------------------------------------------------------------ nodes

    private static final class And extends Condition {
        private final Condition a;
        private final Condition b;

        And(Condition a, Condition b) {
            this.a = a;
            this.b = b;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            return a.test(s, a0, o0, a1, o1, self, all, rp, ro) && b.test(s, a0, o0, a1, o1, self, all, rp, ro);
        }

        @Override
        boolean simple() {
            return a.simple() && b.simple();
        }
    }

    private static final class Or extends Condition {
        private final Condition a;
        private final Condition b;

        Or(Condition a, Condition b) {
            this.a = a;
            this.b = b;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            return a.test(s, a0, o0, a1, o1, self, all, rp, ro) || b.test(s, a0, o0, a1, o1, self, all, rp, ro);
        }

        @Override
        boolean simple() {
            return a.simple() && b.simple();
        }
    }

    private static final class Not extends Condition {
        private final Condition a;

        Not(Condition a) {
            this.a = a;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            return !a.test(s, a0, o0, a1, o1, self, all, rp, ro);
        }

        @Override
        boolean simple() {
            return a.simple();
        }
    }

    private static final class Compare extends Condition {
        private final int op;
        private final Term left;
        private final Term right;

        Compare(int op, Term left, Term right) {
            this.op = op;
            this.left = left;
            this.right = right;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            Object l = left.value(s, a0, o0, a1, o1, self, all, rp, ro);
            Object r = right.value(s, a0, o0, a1, o1, self, all, rp, ro);
            if (op <= 1) {
                return Values.same(l, r) == (op == 0);
            }
            Integer order = Values.order(l, r);
            if (order == null) {
                return false;
            }
            return holds(op, order);
        }
    }

    static boolean holds(int op, int order) {
        switch (op) {
            case 0: return order == 0;
            case 1: return order != 0;
            case 2: return order < 0;
            case 3: return order <= 0;
            case 4: return order > 0;
            default: return order >= 0;
        }
    }

    /**
     * A primitive integral argument (arg0 or arg1, captured in its slot) or result compared
     * with a whole number: read from the long bits, no boxing, no JDK code.
     */
    private static final class FastCompare extends Condition {
        private final int op;
        private final int arg; // 0 or 1; -1 for the result
        private final long literal;
        private final Compare general;

        private FastCompare(int op, int arg, long literal, Compare general) {
            this.op = op;
            this.arg = arg;
            this.literal = literal;
            this.general = general;
        }

        static Condition of(int op, Term left, Term right) {
            Compare general = new Compare(op, left, right);
            int slot = left.integralSlot();
            if (slot != Term.NO_SLOT && right.literal instanceof Long) {
                return new FastCompare(op, slot, (Long) right.literal, general);
            }
            slot = right.integralSlot();
            if (slot != Term.NO_SLOT && left.literal instanceof Long) {
                // 5 < arg0 is arg0 > 5.
                int flipped = op <= 1 ? op : new int[] {0, 1, 4, 5, 2, 3}[op];
                return new FastCompare(flipped, slot, (Long) left.literal, general);
            }
            return null;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            if (s != null && all == null && s.integral(arg)) {
                // Chars travel zero-extended (i2l of a char), the others sign-extended.
                long v = arg == 0 ? a0 : arg == 1 ? a1 : rp;
                return holds(op, Long.compare(v, literal));
            }
            return general.test(s, a0, o0, a1, o1, self, all, rp, ro);
        }

        @Override
        boolean simple() {
            return true;
        }
    }

    private static final class Contains extends Condition {
        private final Term left;
        private final Term right;

        Contains(Term left, Term right) {
            this.left = left;
            this.right = right;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            Object l = left.value(s, a0, o0, a1, o1, self, all, rp, ro);
            Object r = right.value(s, a0, o0, a1, o1, self, all, rp, ro);
            if (l == null) {
                return false;
            }
            if (l instanceof CharSequence) {
                return l.toString().contains(String.valueOf(r));
            }
            if (l instanceof Collection) {
                for (Object item : (Collection<?>) l) {
                    if (Values.same(item, r)) {
                        return true;
                    }
                }
                return false;
            }
            if (l instanceof Map) {
                for (Object key : ((Map<?, ?>) l).keySet()) {
                    if (Values.same(key, r)) {
                        return true;
                    }
                }
                return false;
            }
            if (l.getClass().isArray()) {
                int n = Array.getLength(l);
                for (int i = 0; i < n; i++) {
                    if (Values.same(Array.get(l, i), r)) {
                        return true;
                    }
                }
                return false;
            }
            return String.valueOf(l).contains(String.valueOf(r));
        }
    }

    private static final class Matches extends Condition {
        private final Term left;
        private final Pattern pattern;

        Matches(Term left, Pattern pattern) {
            this.left = left;
            this.pattern = pattern;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            Object l = left.value(s, a0, o0, a1, o1, self, all, rp, ro);
            return pattern.matcher(String.valueOf(l)).matches();
        }
    }

    private static final class In extends Condition {
        private final Term left;
        private final Object[] items;

        In(Term left, Object[] items) {
            this.left = left;
            this.items = items.clone();
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            Object l = left.value(s, a0, o0, a1, o1, self, all, rp, ro);
            for (Object item : items) {
                if (Values.same(l, item)) {
                    return true;
                }
            }
            return false;
        }
    }

    private static final class Truthy extends Condition {
        private final Term term;

        Truthy(Term term) {
            this.term = term;
        }

        @Override
        boolean test(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            return Boolean.TRUE.equals(term.value(s, a0, o0, a1, o1, self, all, rp, ro));
        }
    }

    // ------------------------------------------------------------------ values

    /** An operand (with members to read), a length, or a literal. */
    static final class Term {
        static final int NO_SLOT = Integer.MIN_VALUE;
        private static final int THIS = 0;
        private static final int ARG = 1;
        private static final int RESULT = 2;
        private static final int THREAD = 3;
        private static final int CALLER = 4;
        private static final int LEN = 5;
        private static final int LITERAL = 6;

        private final int what;
        private final int arg;
        private final String[] members;
        private final Term inner;
        final Object literal;
        /** Per member: the last class seen and how to read the member from it. */
        private final Accessor[] accessors;

        private Term(int what, int arg, String[] members, Term inner, Object literal) {
            this.what = what;
            this.arg = arg;
            this.members = members == null ? new String[0] : members.clone();
            this.inner = inner;
            this.literal = literal;
            this.accessors = new Accessor[this.members.length];
        }

        /** {@code kind}: 0 this, 1 argN, 2 result, 3 thread, 4 caller. */
        static Term operand(int kind, int arg, String[] members) {
            return new Term(kind, arg, members, null, null);
        }

        static Term len(Term inner) {
            return new Term(LEN, 0, null, inner, null);
        }

        /** A Long, Double, String, Boolean or null. */
        static Term literal(Object value) {
            return new Term(LITERAL, 0, null, null, value);
        }

        /** The slot of an argument or result read as it is (no members): 0, 1, -1 (result). */
        int integralSlot() {
            if (members.length > 0) {
                return NO_SLOT;
            }
            if (what == ARG && arg < 2) {
                return arg;
            }
            return what == RESULT ? -1 : NO_SLOT;
        }

        Object value(Shape s, long a0, Object o0, long a1, Object o1, Object self, Object[] all, long rp, Object ro)
                throws Unreadable {
            Object v;
            switch (what) {
                case LITERAL:
                    return literal;
                case LEN:
                    return (long) length(inner.value(s, a0, o0, a1, o1, self, all, rp, ro));
                case THIS:
                    v = all != null ? all[0] : self;
                    if (v == null) {
                        throw new Unreadable("this was not captured at this call");
                    }
                    break;
                case ARG:
                    v = argument(s, a0, o0, a1, o1, all);
                    break;
                case RESULT:
                    if (s == null) {
                        throw new Unreadable("result was not captured at this call");
                    }
                    v = Shape.primitive(s.ret) ? Shape.decode(s.ret, rp) : ro;
                    break;
                case THREAD:
                    v = Thread.currentThread().getName();
                    break;
                default:
                    v = CallerFrame.caller();
                    break;
            }
            for (int i = 0; i < members.length; i++) {
                v = member(i, v);
            }
            return v;
        }

        private Object argument(Shape s, long a0, Object o0, long a1, Object o1, Object[] all) throws Unreadable {
            if (all != null) {
                if (arg + 1 >= all.length) {
                    throw new Unreadable("arg" + arg + " does not exist at this call");
                }
                return all[arg + 1];
            }
            if (s == null || arg > 1 || arg >= s.params.length) {
                throw new Unreadable("arg" + arg + " was not captured at this call");
            }
            String type = s.params[arg];
            if (Shape.primitive(type)) {
                return Shape.decode(type, arg == 0 ? a0 : a1);
            }
            return arg == 0 ? o0 : o1;
        }

        private Object member(int index, Object target) throws Unreadable {
            String name = members[index];
            if (target == null) {
                throw new Unreadable("cannot read '" + name + "' of null");
            }
            Class<?> type = target.getClass();
            Accessor a = accessors[index];
            if (a == null || a.type != type) {
                a = Accessor.find(type, name);
                accessors[index] = a;
            }
            return a.read(target);
        }

        private static int length(Object v) throws Unreadable {
            if (v instanceof CharSequence) {
                return ((CharSequence) v).length();
            }
            if (v instanceof Collection) {
                return ((Collection<?>) v).size();
            }
            if (v instanceof Map) {
                return ((Map<?, ?>) v).size();
            }
            if (v != null && v.getClass().isArray()) {
                return Array.getLength(v);
            }
            throw new Unreadable("len() needs a string, array, collection or map, not "
                    + (v == null ? "null" : v.getClass().getName()));
        }
    }

    /** How to read one named member of one class: a public field, a record component or a getter. */
    private static final class Accessor {
        final Class<?> type;
        private final Field field;
        private final Method method;
        private final String missing;

        private Accessor(Class<?> type, Field field, Method method, String missing) {
            this.type = type;
            this.field = field;
            this.method = method;
            this.missing = missing;
        }

        static Accessor find(Class<?> type, String name) {
            String cap = name.isEmpty() ? name : Character.toUpperCase(name.charAt(0)) + name.substring(1);
            for (String candidate : new String[] {name, "get" + cap, "is" + cap}) {
                Method m = publicMethod(type, candidate);
                if (m != null) {
                    return new Accessor(type, null, m, null);
                }
            }
            try {
                Field f = type.getField(name);
                if (!Modifier.isStatic(f.getModifiers())) {
                    f.trySetAccessible();
                    return new Accessor(type, f, null, null);
                }
            } catch (NoSuchFieldException | SecurityException e) {
                // fall through
            }
            return new Accessor(type, null, null, "no public field, record component or getter '" + name + "' on "
                    + type.getName());
        }

        private static Method publicMethod(Class<?> type, String name) {
            try {
                Method m = type.getMethod(name);
                if (m.getReturnType() == void.class || Modifier.isStatic(m.getModifiers())) {
                    return null;
                }
                // A public method of a non-public class (a record in a package) needs access.
                m.trySetAccessible();
                return m;
            } catch (NoSuchMethodException | SecurityException e) {
                return null;
            }
        }

        Object read(Object target) throws Unreadable {
            if (missing != null) {
                throw new Unreadable(missing);
            }
            try {
                return field != null ? field.get(target) : method.invoke(target);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw new Unreadable(method.getName() + "() of " + type.getName() + " threw " + e.getCause());
            } catch (Throwable e) {
                throw new Unreadable("cannot read " + (field != null ? field.getName() : method.getName()) + " of "
                        + type.getName() + ": " + e);
            }
        }
    }

    /** The calling method of the instrumented one, as {@code class#method}. */
    static final class CallerFrame {
        private static final StackWalker WALKER = StackWalker.getInstance();
        private static final Finder FINDER = new Finder();

        static String caller() throws Unreadable {
            String c = WALKER.walk(FINDER);
            if (c == null) {
                throw new Unreadable("the instrumented method has no caller");
            }
            return c;
        }

        /** Skips the hook's frames and the instrumented method; a class, not a lambda (no indy). */
        private static final class Finder
                implements java.util.function.Function<java.util.stream.Stream<StackWalker.StackFrame>, String> {
            @Override
            public String apply(java.util.stream.Stream<StackWalker.StackFrame> frames) {
                java.util.Iterator<StackWalker.StackFrame> it = frames.iterator();
                boolean pastHook = false;
                boolean pastTarget = false;
                while (it.hasNext()) {
                    StackWalker.StackFrame f = it.next();
                    if (!pastHook) {
                        if (f.getClassName().startsWith("io.faultline.boot.")) {
                            continue;
                        }
                        pastHook = true;
                    }
                    if (!pastTarget) {
                        pastTarget = true;
                        continue;
                    }
                    return f.getClassName() + "#" + f.getMethodName();
                }
                return null;
            }
        }
    }
}
