package io.brokkr.broker.topic;

/**
 * Topic name and topic filter rules of MQTT 3.1.1 and MQTT 5 (section 4.7 of both specifications).
 *
 * <p>All methods are allocation-free except {@link #parseShared(String)}.
 */
public final class Topics {

    /** Largest UTF-8 encoded length of a topic name or filter (two-byte length prefix). */
    public static final int MAX_BYTES = 65_535;

    /** Prefix of a shared subscription filter (MQTT 5, section 4.8.2). */
    public static final String SHARE_PREFIX = "$share/";

    /**
     * A shared subscription filter {@code $share/{group}/{filter}} split in its parts.
     *
     * @param group  the share name
     * @param filter the topic filter part (without the prefix and the share name)
     */
    public record SharedFilter(String group, String filter) {
    }

    private Topics() {
    }

    /**
     * Checks a topic name of a PUBLISH (or a will). Names may start with '$'; whether a client may publish
     * to {@code $SYS} is decided by the caller.
     *
     * @return null when valid, else a short human-readable reason
     */
    public static String validateTopicName(String topic) {
        if (topic == null || topic.isEmpty()) {
            return "empty topic";
        }
        for (int i = 0, n = topic.length(); i < n; i++) {
            char c = topic.charAt(i);
            if (c == '+' || c == '#') {
                return "wildcard in topic name";
            }
        }
        return checkChars(topic, 0, topic.length());
    }

    /**
     * Checks a topic filter of a SUBSCRIBE or UNSUBSCRIBE, including shared subscription filters
     * {@code $share/{group}/{filter}}.
     *
     * @return null when valid, else a short human-readable reason
     */
    public static String validateTopicFilter(String filter) {
        if (filter == null || filter.isEmpty()) {
            return "empty topic filter";
        }
        String chars = checkChars(filter, 0, filter.length());
        if (chars != null) {
            return chars;
        }
        int start = 0;
        if (isShared(filter)) {
            int groupStart = SHARE_PREFIX.length();
            int slash = filter.indexOf('/', groupStart);
            int groupEnd = slash < 0 ? filter.length() : slash;
            if (groupEnd == groupStart) {
                return "empty share name";
            }
            for (int i = groupStart; i < groupEnd; i++) {
                char c = filter.charAt(i);
                if (c == '+' || c == '#') {
                    return "share name contains a wildcard";
                }
            }
            if (slash < 0 || slash == filter.length() - 1) {
                return "shared subscription without topic filter";
            }
            start = slash + 1;
        }
        return checkLevels(filter, start);
    }

    /** Wildcard placement rules on {@code filter} from index {@code start} (the filter part). */
    private static String checkLevels(String filter, int start) {
        int n = filter.length();
        int levelStart = start;
        for (int i = start; i < n; i++) {
            char c = filter.charAt(i);
            if (c == '/') {
                levelStart = i + 1;
            } else if (c == '#') {
                if (i != levelStart || i != n - 1) {
                    return "'#' must be the last level and alone in its level";
                }
            } else if (c == '+') {
                if (i != levelStart || (i + 1 < n && filter.charAt(i + 1) != '/')) {
                    return "'+' must be alone in its level";
                }
            }
        }
        return null;
    }

    /** U+0000, unpaired surrogates and the encoded length, shared by names and filters. */
    private static String checkChars(String s, int from, int to) {
        long bytes = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (c == 0) {
                    return "contains U+0000";
                }
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                if (i + 1 >= to || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    return "contains an unpaired surrogate";
                }
                bytes += 4;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return "contains an unpaired surrogate";
            } else {
                bytes += 3;
            }
        }
        return bytes > MAX_BYTES ? "longer than 65535 bytes" : null;
    }

    /** True when {@code filter} starts with {@code $share/} (it may still be invalid). */
    public static boolean isShared(String filter) {
        return filter.startsWith(SHARE_PREFIX);
    }

    /**
     * Splits a shared subscription filter.
     *
     * @return null if {@code filter} is not shared
     * @throws IllegalArgumentException if it is shared but invalid (see {@link #validateTopicFilter(String)})
     */
    public static SharedFilter parseShared(String filter) {
        if (!isShared(filter)) {
            return null;
        }
        String error = validateTopicFilter(filter);
        if (error != null) {
            throw new IllegalArgumentException("invalid shared subscription '" + filter + "': " + error);
        }
        int slash = filter.indexOf('/', SHARE_PREFIX.length());
        return new SharedFilter(filter.substring(SHARE_PREFIX.length(), slash), filter.substring(slash + 1));
    }

    /** True when the filter contains '+' or '#'. */
    public static boolean hasWildcard(String filter) {
        for (int i = 0, n = filter.length(); i < n; i++) {
            char c = filter.charAt(i);
            if (c == '+' || c == '#') {
                return true;
            }
        }
        return false;
    }

    /**
     * True when the (valid, non-shared) {@code filter} matches the (valid) topic name {@code topic}.
     * '#' also matches the parent level, '+' matches exactly one level (which may be empty), and topics
     * starting with '$' are not matched by filters whose first level is a wildcard [MQTT-4.7.2-1].
     */
    public static boolean matches(String filter, String topic) {
        int fl = filter.length();
        int tl = topic.length();
        if (fl == 0) {
            return false;
        }
        if (tl > 0 && topic.charAt(0) == '$' && startsWithWildcardLevel(filter)) {
            return false;
        }
        int fi = 0;
        int ti = 0; // ti == tl + 1 means: no topic level left
        while (true) {
            int fe = filter.indexOf('/', fi);
            if (fe < 0) {
                fe = fl;
            }
            boolean hash = fe - fi == 1 && filter.charAt(fi) == '#';
            if (ti > tl) {
                // topic exhausted: only a final "#" (matching the parent level) is left to match
                return hash && fe == fl;
            }
            if (hash) {
                return true;
            }
            int te = topic.indexOf('/', ti);
            if (te < 0) {
                te = tl;
            }
            boolean plus = fe - fi == 1 && filter.charAt(fi) == '+';
            if (!plus && (fe - fi != te - ti || !filter.regionMatches(fi, topic, ti, fe - fi))) {
                return false;
            }
            fi = fe + 1;
            ti = te + 1;
            if (fi > fl) {
                return ti > tl;
            }
        }
    }

    /**
     * A matcher for one filter, equal to {@link #matches(String, String)} with it: a filter without wildcards is
     * compared with {@code equals}, {@code a/b/#} (no other wildcard) by prefix, anything else by
     * {@link #matches(String, String)}. For a filter tried against every message (a sink's topics): level by level
     * matching showed in a sink thread's profile at a fifth of its samples, a prefix compare costs a fraction.
     */
    public static java.util.function.Predicate<String> matcher(String filter) {
        if (filter.isEmpty()) {
            return t -> false;
        }
        int plus = filter.indexOf('+');
        int hash = filter.indexOf('#');
        if (plus < 0 && hash < 0) {
            return filter::equals;
        }
        if (plus < 0 && hash == filter.length() - 1 && hash >= 2 && filter.charAt(hash - 1) == '/') {
            String parent = filter.substring(0, hash - 1); // "a/b" of "a/b/#": matches "a/b" and "a/b/..."
            String prefix = filter.substring(0, hash); // "a/b/"
            return t -> t.startsWith(prefix) || t.equals(parent);
        }
        return t -> matches(filter, t);
    }

    /** True when the first level of the filter is "+" or "#". */
    static boolean startsWithWildcardLevel(String filter) {
        if (filter.isEmpty()) {
            return false;
        }
        char c = filter.charAt(0);
        return (c == '+' || c == '#') && (filter.length() == 1 || filter.charAt(1) == '/');
    }
}
