package io.brokkr.auth.rules;

import java.util.ArrayList;
import java.util.List;

/**
 * A rule's topic filter, compiled: its levels, each {@code +}, {@code #} or a literal that may contain the
 * placeholders {@code %u} (the user name) and {@code %c} (the client id).
 *
 * <p>{@link #covers(String, int, String, String)} answers both questions of the rules: does a topic name match the
 * filter (a topic name has no wildcards, so it is a filter matching exactly itself), and is a requested topic filter
 * covered by it, i.e. is every topic the requested filter can match also matched by this filter. It walks the
 * requested text once, level by level, without allocating.
 *
 * <p>As for subscriptions, a filter starting with a wildcard does not match topics starting with {@code $}
 * [MQTT-4.7.2-1], so {@code #} does not cover {@code $SYS/#}.
 */
final class TopicPattern {

    static final int LITERAL = 0;
    static final int PLUS = 1;
    static final int HASH = 2;

    /** Part kinds of a literal level. */
    static final int TEXT = 0;
    static final int USER = 1;
    static final int CLIENT = 2;

    /** One level of the filter. */
    static final class Level {
        final int kind;
        /** For a literal level: the parts, literal text or a placeholder (then the string is null). */
        final String[] parts;
        final int[] partKinds;

        Level(int kind, String[] parts, int[] partKinds) {
            this.kind = kind;
            this.parts = parts;
            this.partKinds = partKinds;
        }

        /** Whether {@code s[from, to)} equals this literal level with the placeholders filled in. */
        boolean matches(String s, int from, int to, String user, String clientId) {
            int p = from;
            for (int k = 0; k < parts.length; k++) {
                String v = partKinds[k] == TEXT ? parts[k] : partKinds[k] == USER ? user : clientId;
                int len = v.length();
                if (p + len > to || !s.regionMatches(p, v, 0, len)) {
                    return false;
                }
                p += len;
            }
            return p == to;
        }
    }

    private final String text;
    private final Level[] levels;
    private final boolean usesUser;
    private final boolean usesClientId;
    /** The placeholder the filter starts with ({@link #USER} or {@link #CLIENT}), else {@link #TEXT}. */
    private final int leading;

    private TopicPattern(String text, Level[] levels, boolean usesUser, boolean usesClientId) {
        this.text = text;
        this.levels = levels;
        this.usesUser = usesUser;
        this.usesClientId = usesClientId;
        this.leading = levels[0].kind == LITERAL ? levels[0].partKinds[0] : TEXT;
    }

    /**
     * Compiles a topic filter of a rule.
     *
     * @throws IllegalArgumentException with the reason, if it is not a valid topic filter
     */
    static TopicPattern compile(String filter) {
        if (filter.isEmpty()) {
            throw new IllegalArgumentException("a topic filter cannot be empty"); // [MQTT-4.7.3-1]
        }
        if (filter.indexOf('\u0000') >= 0) {
            throw new IllegalArgumentException("a topic filter cannot contain U+0000"); // [MQTT-4.7.3-2]
        }
        if (filter.startsWith("$share/") || filter.equals("$share")) {
            throw new IllegalArgumentException("a rule's topic filter cannot be a shared subscription ($share/...): "
                    + "give the filter alone, it applies to shared subscriptions too");
        }
        String[] raw = filter.split("/", -1);
        Level[] levels = new Level[raw.length];
        boolean user = false;
        boolean client = false;
        for (int i = 0; i < raw.length; i++) {
            String l = raw[i];
            if (l.equals("#")) {
                if (i != raw.length - 1) {
                    throw new IllegalArgumentException("'#' must be the last level of a topic filter"); // [MQTT-4.7.1-2]
                }
                levels[i] = new Level(HASH, null, null);
            } else if (l.equals("+")) {
                levels[i] = new Level(PLUS, null, null);
            } else if (l.indexOf('#') >= 0 || l.indexOf('+') >= 0) {
                throw new IllegalArgumentException("'+' and '#' must stand alone in a level of a topic filter "
                        + "(level '" + l + "')"); // [MQTT-4.7.1-2], [MQTT-4.7.1-3]
            } else {
                List<String> parts = new ArrayList<>();
                List<Integer> kinds = new ArrayList<>();
                StringBuilder lit = new StringBuilder();
                for (int c = 0; c < l.length(); c++) {
                    char ch = l.charAt(c);
                    if (ch == '%' && c + 1 < l.length() && (l.charAt(c + 1) == 'u' || l.charAt(c + 1) == 'c')) {
                        if (lit.length() > 0) {
                            parts.add(lit.toString());
                            kinds.add(TEXT);
                            lit.setLength(0);
                        }
                        boolean u = l.charAt(c + 1) == 'u';
                        parts.add(null);
                        kinds.add(u ? USER : CLIENT);
                        user |= u;
                        client |= !u;
                        c++;
                    } else {
                        lit.append(ch);
                    }
                }
                if (lit.length() > 0 || parts.isEmpty()) {
                    parts.add(lit.toString());
                    kinds.add(TEXT);
                }
                levels[i] = new Level(LITERAL, parts.toArray(new String[0]),
                        kinds.stream().mapToInt(Integer::intValue).toArray());
            }
        }
        return new TopicPattern(filter, levels, user, client);
    }

    /** The filter as written in the rule. */
    String text() {
        return text;
    }

    /**
     * Whether every topic that {@code requested.substring(from)} (a topic name, or a topic filter with {@code +}
     * and {@code #}) can match is matched by this filter, with {@code %u}/{@code %c} replaced by {@code user} and
     * {@code clientId}. A filter with {@code %u} never matches without a user name, with an empty one, or with one containing
     * {@code +}, {@code #} or {@code /}, nor, if the filter starts with {@code %u}, with one starting with {@code $}
     * (same for {@code %c} and the client id), so that a crafted name cannot widen the rule.
     */
    boolean covers(String requested, int from, String user, String clientId) {
        if (usesUser && !safe(user) || usesClientId && !safe(clientId)) {
            return false;
        }
        if (leading != TEXT && (leading == USER ? user : clientId).charAt(0) == '$') {
            return false; // "%u/#" for a user named "$SYS" would reach the broker's own topics
        }
        int n = requested.length();
        if (from < n && requested.charAt(from) == '$' && levels[0].kind != LITERAL) {
            return false; // [MQTT-4.7.2-1]
        }
        int i = 0;
        int pos = from;
        while (true) {
            if (i == levels.length) {
                return false; // the requested text has more levels than this filter
            }
            Level l = levels[i];
            if (l.kind == HASH) {
                return true; // covers this level and all below it, whatever they are
            }
            int end = requested.indexOf('/', pos);
            if (end < 0) {
                end = n;
            }
            boolean single = end - pos == 1;
            char c = single ? requested.charAt(pos) : 0;
            if (single && c == '#') {
                // the requested '#' matches the parent level (unless it is the whole filter) and any number of
                // levels below: '#' covers that (handled above); as the whole filter, '+/#' does too (it matches
                // every topic of one level or more)
                return pos == from && i == levels.length - 2 && l.kind == PLUS && levels[i + 1].kind == HASH;
            }
            if (l.kind == LITERAL) {
                if (single && c == '+') {
                    return false; // a literal does not cover every value of a level
                }
                if (!l.matches(requested, pos, end, user, clientId)) {
                    return false;
                }
            }
            i++;
            if (end == n) {
                // the requested text ends here: covered if this filter ends too, or goes on with '#' alone
                // ('a/#' also matches 'a' [MQTT-4.7.1-2])
                return i == levels.length || i == levels.length - 1 && levels[i].kind == HASH;
            }
            pos = end + 1;
        }
    }

    private static boolean safe(String name) {
        if (name == null || name.isEmpty()) {
            return false;
        }
        for (int k = 0; k < name.length(); k++) {
            char ch = name.charAt(k);
            if (ch == '/' || ch == '+' || ch == '#') {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return text;
    }
}
