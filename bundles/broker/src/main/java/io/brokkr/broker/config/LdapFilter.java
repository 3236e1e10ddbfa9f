package io.brokkr.broker.config;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * An LDAP filter over service properties, with the syntax and matching rules of OSGi filters (RFC 1960; OSGi Core
 * 3.2.7, {@code org.osgi.framework.Filter}): {@code (&(a=1)(|(b=x*)(!(c>=5))))}, {@code =}, {@code ~=},
 * {@code >=}, {@code <=}, presence {@code (a=*)}, substrings {@code (a=x*y*)}, {@code \} escaping the next
 * character of a value. Keys are matched without regard to case; a value is compared as its type: numbers
 * numerically, booleans and characters by value, strings as strings, arrays and collections element by element (any
 * element matching). The engine runs without an OSGi framework (benchmarks, tests), hence this small matcher rather
 * than {@code FrameworkUtil.createFilter}; a DS target filter written for the framework means the same here.
 */
public final class LdapFilter {

    private enum Op { AND, OR, NOT, EQUAL, APPROX, GREATER, LESS, PRESENT, SUBSTRING }

    private final Op op;
    private final String attr;
    /** The value of a comparison; for SUBSTRING the parts between the stars, null for a leading or trailing star. */
    private final String value;
    private final List<String> parts;
    private final List<LdapFilter> children;
    private final String text;

    private LdapFilter(Op op, String attr, String value, List<String> parts, List<LdapFilter> children,
                       String text) {
        this.op = op;
        this.attr = attr;
        this.value = value;
        this.parts = parts;
        this.children = children;
        this.text = text;
    }

    /**
     * Parses a filter; throws IllegalArgumentException with the (0-based) position and the reason if it is not one.
     */
    public static LdapFilter parse(String filter) {
        if (filter == null || filter.isBlank()) {
            throw new IllegalArgumentException("empty filter");
        }
        Parser p = new Parser(filter.trim());
        LdapFilter f = p.filter();
        p.skipSpace();
        if (p.i != p.s.length()) {
            throw p.error("extra characters after the filter");
        }
        return f;
    }

    /** Whether the properties match this filter (keys case-insensitively). */
    public boolean matches(Map<String, ?> properties) {
        switch (op) {
            case AND:
                for (LdapFilter c : children) {
                    if (!c.matches(properties)) {
                        return false;
                    }
                }
                return true;
            case OR:
                for (LdapFilter c : children) {
                    if (c.matches(properties)) {
                        return true;
                    }
                }
                return false;
            case NOT:
                return !children.get(0).matches(properties);
            default:
                Object v = lookup(properties, attr);
                return v != null && compare(v);
        }
    }

    private static Object lookup(Map<String, ?> properties, String key) {
        Object v = properties.get(key);
        if (v != null) {
            return v;
        }
        for (Map.Entry<String, ?> e : properties.entrySet()) {
            if (e.getKey().equalsIgnoreCase(key)) {
                return e.getValue();
            }
        }
        return null;
    }

    private boolean compare(Object v) {
        if (op == Op.PRESENT) {
            return true;
        }
        if (v.getClass().isArray()) {
            int n = Array.getLength(v);
            for (int k = 0; k < n; k++) {
                Object e = Array.get(v, k);
                if (e != null && compare(e)) {
                    return true;
                }
            }
            return false;
        }
        if (v instanceof Collection<?> c) {
            for (Object e : c) {
                if (e != null && compare(e)) {
                    return true;
                }
            }
            return false;
        }
        if (v instanceof Number n) {
            BigDecimal mine;
            try {
                mine = new BigDecimal(value.trim());
            } catch (NumberFormatException e) {
                return false;
            }
            int cmp = new BigDecimal(n.toString()).compareTo(mine);
            return op == Op.EQUAL || op == Op.APPROX ? cmp == 0 : op == Op.GREATER ? cmp >= 0
                    : op == Op.LESS ? cmp <= 0 : false;
        }
        if (v instanceof Boolean b) {
            return (op == Op.EQUAL || op == Op.APPROX) && b == Boolean.parseBoolean(value.trim());
        }
        String s = v.toString();
        return switch (op) {
            case EQUAL -> s.equals(value);
            case APPROX -> approx(s).equals(approx(value));
            case GREATER -> s.compareTo(value) >= 0;
            case LESS -> s.compareTo(value) <= 0;
            case SUBSTRING -> substring(s);
            default -> false;
        };
    }

    /** ~= : case and white space ignored. */
    private static String approx(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (!Character.isWhitespace(c)) {
                b.append(Character.toLowerCase(c));
            }
        }
        return b.toString();
    }

    private boolean substring(String s) {
        int pos = 0;
        int n = parts.size();
        for (int k = 0; k < n; k++) {
            String part = parts.get(k);
            if (part == null) {
                continue; // a star at the start or the end
            }
            if (k == 0) {
                if (!s.startsWith(part)) {
                    return false;
                }
                pos = part.length();
            } else if (k == n - 1) {
                return s.length() - part.length() >= pos && s.endsWith(part);
            } else {
                int at = s.indexOf(part, pos);
                if (at < 0) {
                    return false;
                }
                pos = at + part.length();
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LdapFilter f && f.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    private static final class Parser {
        final String s;
        int i;

        Parser(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String why) {
            return new IllegalArgumentException("invalid filter '" + s + "' at position " + i + ": " + why);
        }

        void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        void expect(char c) {
            skipSpace();
            if (i >= s.length() || s.charAt(i) != c) {
                throw error("'" + c + "' expected");
            }
            i++;
        }

        LdapFilter filter() {
            int start = i;
            expect('(');
            skipSpace();
            if (i >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(i);
            LdapFilter f;
            if (c == '&' || c == '|') {
                i++;
                List<LdapFilter> list = new ArrayList<>();
                skipSpace();
                while (i < s.length() && s.charAt(i) == '(') {
                    list.add(filter());
                    skipSpace();
                }
                if (list.isEmpty()) {
                    throw error("'(' expected after '" + c + "'");
                }
                f = new LdapFilter(c == '&' ? Op.AND : Op.OR, null, null, null, List.copyOf(list), null);
            } else if (c == '!') {
                i++;
                f = new LdapFilter(Op.NOT, null, null, null, List.of(filter()), null);
            } else {
                f = item();
            }
            expect(')');
            String text = s.substring(start, i).trim();
            return new LdapFilter(f.op, f.attr, f.value, f.parts, f.children, text);
        }

        LdapFilter item() {
            int a = i;
            while (i < s.length() && "=<>~()".indexOf(s.charAt(i)) < 0) {
                i++;
            }
            String attr = s.substring(a, i).trim();
            if (attr.isEmpty()) {
                throw error("attribute name expected");
            }
            if (i >= s.length() || s.charAt(i) == '(' || s.charAt(i) == ')') {
                throw error("'=', '~=', '>=' or '<=' expected");
            }
            Op op;
            char c = s.charAt(i);
            if (c == '=') {
                op = Op.EQUAL;
                i++;
            } else if (i + 1 < s.length() && s.charAt(i + 1) == '=') {
                op = c == '~' ? Op.APPROX : c == '>' ? Op.GREATER : Op.LESS;
                i += 2;
            } else {
                throw error("'=' expected after '" + c + "'");
            }
            // the value: up to the closing parenthesis, '\' escaping; unescaped stars split it (substring, presence)
            List<String> parts = new ArrayList<>();
            StringBuilder b = new StringBuilder();
            boolean star = false;
            while (true) {
                if (i >= s.length()) {
                    throw error("')' expected");
                }
                char v = s.charAt(i);
                if (v == ')') {
                    break;
                }
                if (v == '(') {
                    throw error("unescaped '(' in a value");
                }
                i++;
                if (v == '\\') {
                    if (i >= s.length()) {
                        throw error("'\\' at the end");
                    }
                    b.append(s.charAt(i++));
                } else if (v == '*' && op == Op.EQUAL) {
                    star = true;
                    parts.add(b.length() == 0 ? null : b.toString());
                    b.setLength(0);
                } else {
                    b.append(v);
                }
            }
            if (!star) {
                return new LdapFilter(op, attr, b.toString(), null, null, null);
            }
            parts.add(b.length() == 0 ? null : b.toString());
            if (parts.size() == 2 && parts.get(0) == null && parts.get(1) == null) {
                return new LdapFilter(Op.PRESENT, attr, null, null, null, null);
            }
            return new LdapFilter(Op.SUBSTRING, attr, null, java.util.Collections.unmodifiableList(parts), null,
                    null);
        }
    }
}
