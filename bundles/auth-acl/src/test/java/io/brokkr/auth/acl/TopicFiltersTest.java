package io.brokkr.auth.acl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Tables of {@link TopicFilters}, and covers/intersects checked against matches over a set of topics. */
class TopicFiltersTest {

    @ParameterizedTest(name = "{0} matches {1}: {2}")
    @CsvSource({
        "a/b, a/b, true",
        "a/b, a/c, false",
        "a/+, a/b, true",
        "a/+, a, false",
        "a/+, a/b/c, false",
        "a/+, a/, true",
        "a/#, a, true",
        "a/#, a/b/c, true",
        "a/#, ab, false",
        "#, a/b, true",
        "#, /, true",
        "+/+, /, true",
        "+, $SYS, false",
        "#, $SYS/x, false",
        "+/x, $SYS/x, false",
        "$SYS/#, $SYS/x, true",
        "$SYS/#, $SYS, true",
        "a/%u, a/%u, true",
    })
    void matches(String filter, String topic, boolean expected) {
        assertEquals(expected, TopicFilters.matches(filter, topic));
    }

    @ParameterizedTest(name = "{0} covers {1}: {2}")
    @CsvSource({
        "a/b, a/b, true",
        "a/b, a/c, false",
        "a/+, a/b, true",
        "a/+, a/+, true",
        "a/+, a/#, false",      // a/# also matches a and a/b/c
        "a/+, a, false",
        "a/#, a, true",
        "a/#, a/#, true",
        "a/#, a/+/c, true",
        "a/#, a/+/#, true",
        "a/#, b/#, false",
        "a/#, +/b, false",      // +/b matches x/b
        "a/b/#, a/#, false",
        "a/b/#, a/b, true",
        "a/+/c, a/b/c, true",
        "a/+/c, a/+/c, true",
        "a/+/c, a/+/+, false",
        "a/+/c, a/+/c/d, false",
        "a/+/#, a/b, true",
        "a/+/#, a/#, false",    // a/# matches a, a/+/# does not
        "a/+/#, a/+, true",
        "+/+, a/b, true",
        "+/+, a/+, true",
        "+/+, +/#, false",
        "+/#, #, true",         // both match every topic of one level or more
        "+/#, a/#, true",
        "a/+/#, a/#, false",
        "#, a/b/#, true",
        "#, #, true",
        "#, +/+, true",
        "#, $SYS/#, false",     // [MQTT-4.7.2-1]
        "#, $SYS, false",
        "+/#, $SYS/x, false",
        "$SYS/#, $SYS/broker/+, true",
        "$SYS/#, #, false",
        "$SYS/#, $SYS, true",
        "a, a/#, false",
        "a//b, a//b, true",
        "a/+/b, a//b, true",
        "a/b, a/b/, false",
    })
    void covers(String grant, String filter, boolean expected) {
        assertEquals(expected, TopicFilters.covers(grant, filter));
    }

    @ParameterizedTest(name = "{0} meets {1}: {2}")
    @CsvSource({
        "a/b, a/b, true",
        "a/b, a/c, false",
        "a/+, a/b, true",
        "a/+, +/b, true",
        "a/+, b/+, false",
        "a/#, a, true",
        "a, a/#, true",
        "a/+, a, false",
        "a/b/c, a/#, true",
        "a/b/c, +/+, false",
        "+/+/c, a/#, true",
        "#, $SYS/x, false",
        "$SYS/#, +/x, false",
        "$SYS/#, $SYS/+, true",
        "#, #, true",
        "a/secret, a/+, true",
        "a/secret, a/public, false",
    })
    void intersects(String a, String b, boolean expected) {
        assertEquals(expected, TopicFilters.intersects(a, b));
        assertEquals(expected, TopicFilters.intersects(b, a));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(value = {
        "a/b|",
        "#|",
        "a/+/#|",
        "$SYS/#|",
        "a/b#|a wildcard (+ or #) must be the whole level",
        "a/+b|a wildcard (+ or #) must be the whole level",
        "a/#/b|# must be the last level",
        "|empty topic",
    }, delimiter = '|')
    void validation(String filter, String expected) {
        assertEquals(expected, TopicFilters.invalidFilter(filter == null ? "" : filter));
    }

    /**
     * covers and intersects agree with matches over every topic of up to four levels made of a few names, "" and
     * "$SYS": covers(g, f) iff every topic f matches g matches; intersects(a, b) iff some topic both match.
     */
    @Test
    void agreeWithMatchesOverAllShortTopics() {
        String[] names = {"a", "b", "", "$SYS"};
        List<String> topics = new ArrayList<>();
        build(names, "", 0, topics);
        List<String> filters = new ArrayList<>();
        String[] parts = {"a", "b", "+", "#", "$SYS", ""};
        buildFilters(parts, "", 0, filters);
        int checked = 0;
        for (String g : filters) {
            for (String f : filters) {
                boolean every = true;
                boolean some = false;
                for (String t : topics) {
                    boolean mf = TopicFilters.matches(f, t);
                    boolean mg = TopicFilters.matches(g, t);
                    if (mf && !mg) {
                        every = false;
                    }
                    if (mf && mg) {
                        some = true;
                    }
                }
                // topics of at most 4 levels stand for all: a filter of at most 3 levels that matches deeper
                // topics does so through a "#", which the 4th level exercises
                assertEquals(every, TopicFilters.covers(g, f), g + " covers " + f);
                assertEquals(some, TopicFilters.intersects(g, f), g + " meets " + f);
                checked++;
            }
        }
        assertEquals(filters.size() * filters.size(), checked);
    }

    private static void build(String[] names, String prefix, int depth, List<String> out) {
        if (depth == 4) {
            return;
        }
        for (String n : names) {
            if (depth > 0 && n.equals("$SYS")) {
                continue; // $ matters in the first level only
            }
            String t = depth == 0 ? n : prefix + "/" + n;
            out.add(t);
            build(names, t, depth + 1, out);
        }
    }

    private static void buildFilters(String[] parts, String prefix, int depth, List<String> out) {
        if (depth == 3) {
            return;
        }
        for (String p : parts) {
            if (depth > 0 && p.equals("$SYS")) {
                continue;
            }
            String f = depth == 0 ? p : prefix + "/" + p;
            out.add(f);
            if (!p.equals("#")) {
                buildFilters(parts, f, depth + 1, out);
            }
        }
    }
}
