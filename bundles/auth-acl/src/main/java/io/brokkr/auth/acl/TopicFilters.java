package io.brokkr.auth.acl;

/**
 * Topic filter arithmetic for the ACL: a topic against a filter, a filter inside a filter, two filters that share a
 * topic. Levels are split on {@code /} (empty levels count), {@code +} is one level, {@code #} (last) is the parent
 * level and any number of levels below it [MQTT-4.7.1-2], and a filter whose first level is a wildcard never matches
 * a topic starting with {@code $} [MQTT-4.7.2-1]. Filters are assumed valid (wildcards alone in their level).
 */
public final class TopicFilters {

    private TopicFilters() {
    }

    static String[] levels(String s) {
        return s.split("/", -1);
    }

    private static boolean wild(String level) {
        return level.equals("+") || level.equals("#");
    }

    /** Whether the first level of {@code literal} starts with {@code $} while {@code wildcard}'s first level is wild. */
    private static boolean dollarExcluded(String[] wildcard, String[] literal) {
        return wild(wildcard[0]) && !wild(literal[0]) && literal[0].startsWith("$");
    }

    /** Whether the topic name {@code topic} matches {@code filter}. */
    public static boolean matches(String filter, String topic) {
        String[] f = levels(filter);
        String[] t = levels(topic);
        if (dollarExcluded(f, t)) {
            return false;
        }
        int i = 0;
        for (; i < f.length; i++) {
            if (f[i].equals("#")) {
                return true; // also the parent level: "a/#" matches "a"
            }
            if (i >= t.length) {
                return false;
            }
            if (!f[i].equals("+") && !f[i].equals(t[i])) {
                return false;
            }
        }
        return i == t.length;
    }

    /**
     * Whether every topic that {@code filter} matches is also matched by {@code grant}: the grant covers the
     * filter. {@code a/#} covers {@code a}, {@code a/+/c} and {@code a/#}; {@code a/+} covers {@code a/b} and
     * {@code a/+} but not {@code a/#} (which also matches {@code a} and {@code a/b/c}); {@code #} covers every
     * filter except those starting with a {@code $} level.
     */
    public static boolean covers(String grant, String filter) {
        String[] g = levels(grant);
        String[] f = levels(filter);
        if (dollarExcluded(g, f)) {
            return false;
        }
        for (int i = 0; ; i++) {
            if (i < g.length && g[i].equals("#")) {
                return true;
            }
            if (i == g.length || i == f.length) {
                // one of them ends: covered only if both do (a grant with a further level misses the shorter topic,
                // a filter with a further level matches topics the grant does not)
                return i == g.length && i == f.length;
            }
            if (f[i].equals("#")) {
                // matches any depth from here, and below the first level also the parent (no level more): only a
                // "#" of the grant (above) covers that, or "+/#" for a filter "#", as both match one level or more
                return i == 0 && g.length == 2 && g[0].equals("+") && g[1].equals("#");
            }
            if (f[i].equals("+")) {
                if (!g[i].equals("+")) {
                    return false;
                }
            } else if (!g[i].equals("+") && !g[i].equals(f[i])) {
                return false;
            }
        }
    }

    /** Whether some topic name is matched by both filters. */
    public static boolean intersects(String a, String b) {
        String[] x = levels(a);
        String[] y = levels(b);
        if (dollarExcluded(x, y) || dollarExcluded(y, x)) {
            return false;
        }
        for (int i = 0; ; i++) {
            if ((i < x.length && x[i].equals("#")) || (i < y.length && y[i].equals("#"))) {
                return true; // the other one's rest (or nothing, the parent level) is matched by "#"
            }
            if (i == x.length || i == y.length) {
                return i == x.length && i == y.length;
            }
            if (!x[i].equals("+") && !y[i].equals("+") && !x[i].equals(y[i])) {
                return false;
            }
        }
    }

    /** Why {@code filter} is not a valid topic filter, or null: wildcards alone in their level, {@code #} last. */
    public static String invalidFilter(String filter) {
        if (filter.isEmpty()) {
            return "empty topic";
        }
        String[] f = levels(filter);
        for (int i = 0; i < f.length; i++) {
            String l = f[i];
            if ((l.contains("+") && !l.equals("+")) || (l.contains("#") && !l.equals("#"))) {
                return "a wildcard (+ or #) must be the whole level";
            }
            if (l.equals("#") && i != f.length - 1) {
                return "# must be the last level";
            }
        }
        return null;
    }
}
