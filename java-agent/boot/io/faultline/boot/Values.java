package io.faultline.boot;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * How conditions compare values, and how a return fault's value becomes a value of the
 * method's declared return type.
 */
final class Values {
    private Values() {}

    /**
     * Equality as conditions mean it: numbers (and chars) by value across boxed types, a
     * one-letter string equals that char, strings by content, enums and other objects by
     * their text when compared with a string, null only with null.
     */
    static boolean same(Object a, Object b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (numeric(a) && numeric(b)) {
            return compareNumbers(a, b) == 0;
        }
        if (a instanceof Character && b instanceof CharSequence || b instanceof Character && a instanceof CharSequence) {
            return a.toString().equals(b.toString());
        }
        if (a instanceof Boolean || b instanceof Boolean) {
            return a.equals(b);
        }
        if (a instanceof CharSequence || b instanceof CharSequence) {
            return text(a).equals(text(b));
        }
        return a.equals(b);
    }

    /** The order of two values (numbers by value, strings by text); null when they have none. */
    static Integer order(Object a, Object b) {
        if (a == null || b == null) {
            return null;
        }
        if (numeric(a) && numeric(b)) {
            return compareNumbers(a, b);
        }
        if ((a instanceof CharSequence || a instanceof Character) && (b instanceof CharSequence || b instanceof Character)) {
            return Integer.signum(a.toString().compareTo(b.toString()));
        }
        return null;
    }

    private static String text(Object v) {
        return v instanceof Enum ? ((Enum<?>) v).name() : v.toString();
    }

    private static boolean numeric(Object v) {
        return v instanceof Number || v instanceof Character;
    }

    private static int compareNumbers(Object a, Object b) {
        if (integral(a) && integral(b)) {
            return Long.compare(longOf(a), longOf(b));
        }
        if (a instanceof BigDecimal || b instanceof BigDecimal || a instanceof BigInteger || b instanceof BigInteger) {
            return decimal(a).compareTo(decimal(b));
        }
        return Double.compare(doubleOf(a), doubleOf(b));
    }

    private static boolean integral(Object v) {
        return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                || v instanceof Character;
    }

    private static long longOf(Object v) {
        return v instanceof Character ? (Character) v : ((Number) v).longValue();
    }

    private static double doubleOf(Object v) {
        return v instanceof Character ? (Character) v : ((Number) v).doubleValue();
    }

    private static BigDecimal decimal(Object v) {
        if (v instanceof BigDecimal) {
            return (BigDecimal) v;
        }
        if (v instanceof BigInteger) {
            return new BigDecimal((BigInteger) v);
        }
        if (integral(v)) {
            return BigDecimal.valueOf(longOf(v));
        }
        return BigDecimal.valueOf(doubleOf(v));
    }

    // ------------------------------------------------------------------ return values

    /** How the agent hands a return fault's value over (the TOML value's kind). */
    static final int NONE = 0;
    static final int NULL = 1;
    static final int EMPTY = 2;
    static final int BOOL = 3;
    static final int INT = 4;
    static final int FLOAT = 5;
    static final int STRING = 6;

    /**
     * The value to return from a method of return type {@code type} (a field descriptor),
     * boxed as the inserted code unboxes it: the exact wrapper for boxed types, any Number
     * for primitive numbers, Boolean and Character for boolean and char. {@code owner} is
     * the method's class, whose loader resolves enum and array types.
     *
     * @throws IllegalArgumentException when the value does not fit (checked at arm time for
     *     the methods loaded then; here for classes loaded later)
     */
    static Object convert(int kind, Object raw, String type, Class<?> owner) {
        switch (type) {
            case "Z": return (Boolean) require(kind == BOOL, raw, type);
            case "C": return character(kind, raw, type);
            case "B": case "S": case "I": return (int) (long) (Long) require(kind == INT, raw, type);
            case "J": return (Long) require(kind == INT, raw, type);
            case "F": return (float) number(kind, raw, type);
            case "D": return number(kind, raw, type);
            case "Ljava/lang/Boolean;": return kind == NULL ? null : require(kind == BOOL, raw, type);
            case "Ljava/lang/Byte;": return kind == NULL ? null : (byte) (long) (Long) require(kind == INT, raw, type);
            case "Ljava/lang/Short;": return kind == NULL ? null : (short) (long) (Long) require(kind == INT, raw, type);
            case "Ljava/lang/Integer;": return kind == NULL ? null : (int) (long) (Long) require(kind == INT, raw, type);
            case "Ljava/lang/Long;": return kind == NULL ? null : require(kind == INT, raw, type);
            case "Ljava/lang/Character;": return kind == NULL ? null : character(kind, raw, type);
            case "Ljava/lang/Float;": return kind == NULL ? null : (float) number(kind, raw, type);
            case "Ljava/lang/Double;": return kind == NULL ? null : number(kind, raw, type);
            case "Ljava/lang/String;":
            case "Ljava/lang/CharSequence;":
                return kind == NULL ? null : require(kind == STRING, raw, type);
            case "Ljava/lang/Object;":
                if (kind == EMPTY) {
                    throw new IllegalArgumentException("\"empty\" does not say what to return as an Object");
                }
                return kind == NULL ? null : raw;
            default:
                break;
        }
        if (kind == NULL) {
            return null;
        }
        if (kind == EMPTY) {
            return empty(type, owner);
        }
        if (kind == STRING && type.startsWith("L")) {
            return enumConstant(type, (String) raw, owner);
        }
        throw new IllegalArgumentException("cannot return " + describe(kind, raw) + " as " + typeName(type));
    }

    private static Object require(boolean ok, Object raw, String type) {
        if (!ok || raw == null) {
            throw new IllegalArgumentException("cannot return " + raw + " as " + typeName(type));
        }
        return raw;
    }

    private static Character character(int kind, Object raw, String type) {
        if (kind == STRING && ((String) raw).length() == 1) {
            return ((String) raw).charAt(0);
        }
        return (char) (long) (Long) require(kind == INT, raw, type);
    }

    private static double number(int kind, Object raw, String type) {
        if (kind == INT) {
            return (Long) raw;
        }
        return (Double) require(kind == FLOAT, raw, type);
    }

    private static Object empty(String type, Class<?> owner) {
        switch (type) {
            case "Ljava/util/Optional;": return java.util.Optional.empty();
            case "Ljava/util/OptionalInt;": return java.util.OptionalInt.empty();
            case "Ljava/util/OptionalLong;": return java.util.OptionalLong.empty();
            case "Ljava/util/OptionalDouble;": return java.util.OptionalDouble.empty();
            case "Ljava/lang/Iterable;":
            case "Ljava/util/Collection;":
            case "Ljava/util/List;":
                return java.util.Collections.emptyList();
            case "Ljava/util/Set;": return java.util.Collections.emptySet();
            case "Ljava/util/SortedSet;":
            case "Ljava/util/NavigableSet;":
                return java.util.Collections.emptyNavigableSet();
            case "Ljava/util/Map;": return java.util.Collections.emptyMap();
            case "Ljava/util/SortedMap;":
            case "Ljava/util/NavigableMap;":
                return java.util.Collections.emptyNavigableMap();
            case "Ljava/util/Iterator;": return java.util.Collections.emptyIterator();
            case "Ljava/util/stream/Stream;": return java.util.stream.Stream.empty();
            case "Ljava/util/stream/IntStream;": return java.util.stream.IntStream.empty();
            case "Ljava/util/stream/LongStream;": return java.util.stream.LongStream.empty();
            case "Ljava/util/stream/DoubleStream;": return java.util.stream.DoubleStream.empty();
            default:
                break;
        }
        if (type.startsWith("[")) {
            return Array.newInstance(resolve(type.substring(1), owner), 0);
        }
        throw new IllegalArgumentException("\"empty\" has no meaning for " + typeName(type));
    }

    private static Object enumConstant(String type, String name, Class<?> owner) {
        Class<?> c = resolve(type, owner);
        if (!c.isEnum()) {
            throw new IllegalArgumentException("cannot return the string \"" + name + "\" as " + c.getName()
                    + " (strings go to String, CharSequence and Object, and name constants of enums)");
        }
        for (Object constant : c.getEnumConstants()) {
            if (((Enum<?>) constant).name().equals(name)) {
                return constant;
            }
        }
        throw new IllegalArgumentException(c.getName() + " has no constant " + name);
    }

    /** A class by field descriptor, through the loader of the method's class. */
    private static Class<?> resolve(String type, Class<?> owner) {
        switch (type) {
            case "Z": return boolean.class;
            case "B": return byte.class;
            case "C": return char.class;
            case "S": return short.class;
            case "I": return int.class;
            case "J": return long.class;
            case "F": return float.class;
            case "D": return double.class;
            default:
                break;
        }
        String name = type.startsWith("L") ? type.substring(1, type.length() - 1).replace('/', '.') : type.replace('/', '.');
        try {
            return Class.forName(name, false, owner == null ? null : owner.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("cannot find " + name + " from " + owner);
        }
    }

    static String typeName(String type) {
        return Shape.primitive(type) && type.length() == 1
                ? new String[] {"boolean", "byte", "char", "short", "int", "long", "float", "double", "void"}["ZBCSIJFDV".indexOf(type.charAt(0))]
                : type.replace('/', '.');
    }

    static String describe(int kind, Object raw) {
        switch (kind) {
            case NULL: return "null";
            case EMPTY: return "\"empty\"";
            case STRING: return "the string \"" + raw + "\"";
            default: return String.valueOf(raw);
        }
    }
}
