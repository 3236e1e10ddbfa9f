package io.brokkr.broker.topic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TopicsTest {

    // ---- topic names

    /** Topics.matcher answers as Topics.matches for every filter and topic made of a few levels, $ topics included. */
    @Test
    void aCompiledMatcherAgreesWithMatchesEverywhere() {
        String[] levels = {"a", "b", "ab", "", "$SYS", "+", "#"};
        java.util.List<String> filters = new java.util.ArrayList<>();
        java.util.List<String> topics = new java.util.ArrayList<>();
        for (String x : levels) {
            filters.add(x);
            for (String y : levels) {
                filters.add(x + "/" + y);
                for (String z : levels) {
                    filters.add(x + "/" + y + "/" + z);
                }
            }
        }
        for (String f : filters) {
            if (!f.contains("+") && !f.contains("#")) {
                topics.add(f);
            }
        }
        topics.add("a/b/c/d");
        topics.add("a/bc");
        topics.add("ab/");
        int checked = 0;
        for (String f : filters) {
            if (Topics.validateTopicFilter(f) != null) {
                continue;
            }
            java.util.function.Predicate<String> m = Topics.matcher(f);
            for (String t : topics) {
                assertEquals(Topics.matches(f, t), m.test(t), "filter '" + f + "', topic '" + t + "'");
                checked++;
            }
        }
        assertTrue(checked > 10_000, "checked " + checked);
        assertTrue(Topics.matcher("bench/#").test("bench"));
        assertTrue(Topics.matcher("bench/#").test("bench/x/1"));
        assertFalse(Topics.matcher("bench/#").test("benchx/1"));
        assertFalse(Topics.matcher("bench/#").test("benc"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sport/tennis/player1", "sport", "/", "//", "/finance", "finance/", "$SYS/broker/load",
        "$share/g/x", "a b/c d", "€/日本/\uD83D\uDE00", " "})
    void validTopicNames(String topic) {
        assertNull(Topics.validateTopicName(topic), topic);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "sport/+|wildcard in topic name",
        "sport/#|wildcard in topic name",
        "+|wildcard in topic name",
        "#|wildcard in topic name",
        "sport+|wildcard in topic name",
        "a/b#|wildcard in topic name"})
    void invalidTopicNames(String topic, String error) {
        assertEquals(error, Topics.validateTopicName(topic));
    }

    @Test
    void topicNameEmptyNulAndLength() {
        assertEquals("empty topic", Topics.validateTopicName(""));
        assertEquals("empty topic", Topics.validateTopicName(null));
        assertEquals("contains U+0000", Topics.validateTopicName("a\u0000b"));
        assertNull(Topics.validateTopicName("a".repeat(65_535)));
        assertEquals("longer than 65535 bytes", Topics.validateTopicName("a".repeat(65_536)));
        // 21845 * 3 bytes = 65535; one more two-byte char is too much
        assertNull(Topics.validateTopicName("€".repeat(21_845)));
        assertEquals("longer than 65535 bytes", Topics.validateTopicName("€".repeat(21_845) + "é"));
        // surrogate pairs count as four bytes
        assertNull(Topics.validateTopicName("\uD83D\uDE00".repeat(16_383) + "abc"));
        assertEquals("longer than 65535 bytes", Topics.validateTopicName("\uD83D\uDE00".repeat(16_384)));
        assertEquals("contains an unpaired surrogate", Topics.validateTopicName("a\uD83Db"));
        assertEquals("contains an unpaired surrogate", Topics.validateTopicName("a\uDE00"));
    }

    // ---- topic filters

    @ParameterizedTest
    @ValueSource(strings = {"sport/tennis/player1/#", "sport/tennis/#", "sport/#", "#", "+", "+/+", "/+", "+/",
        "sport/+", "sport/+/player1", "+/tennis/#", "/", "//", "/finance", "$SYS/#", "$SYS/+/x", "a//+//#",
        "$share/g/a/+", "$share/g/#", "$share/group-1/+", "$share/g//", "$share/g/$SYS/x", "$share", "$sharex/y",
        "$shared/a", "share/g/a"})
    void validFilters(String filter) {
        assertNull(Topics.validateTopicFilter(filter), filter);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "sport/tennis#|'#' must be the last level and alone in its level",
        "sport/tennis/#/ranking|'#' must be the last level and alone in its level",
        "#/a|'#' must be the last level and alone in its level",
        "##|'#' must be the last level and alone in its level",
        "a/#b|'#' must be the last level and alone in its level",
        "sport+|'+' must be alone in its level",
        "sport/+a|'+' must be alone in its level",
        "a/++/b|'+' must be alone in its level",
        "+#|'+' must be alone in its level",
        "$share/g|shared subscription without topic filter",
        "$share/g/|shared subscription without topic filter",
        "$share//a|empty share name",
        "$share/|empty share name",
        "$share/g+/a|share name contains a wildcard",
        "$share/#/a|share name contains a wildcard",
        "$share/g/a#|'#' must be the last level and alone in its level",
        "$share/g/a+|'+' must be alone in its level"})
    void invalidFilters(String filter, String error) {
        assertEquals(error, Topics.validateTopicFilter(filter), filter);
    }

    @Test
    void filterEmptyNulAndLength() {
        assertEquals("empty topic filter", Topics.validateTopicFilter(""));
        assertEquals("empty topic filter", Topics.validateTopicFilter(null));
        assertEquals("contains U+0000", Topics.validateTopicFilter("a/\u0000/#"));
        assertNull(Topics.validateTopicFilter("a".repeat(65_533) + "/#"));
        assertEquals("longer than 65535 bytes", Topics.validateTopicFilter("a".repeat(65_534) + "/#"));
        assertEquals("contains an unpaired surrogate", Topics.validateTopicFilter("\uD83D/#"));
    }

    @Test
    void sharedFilters() {
        assertTrue(Topics.isShared("$share/g/a"));
        assertTrue(Topics.isShared("$share/g"));
        assertFalse(Topics.isShared("$share"));
        assertFalse(Topics.isShared("$SHARE/g/a"));
        assertFalse(Topics.isShared("a/$share/g"));

        assertEquals(new Topics.SharedFilter("g", "a/+"), Topics.parseShared("$share/g/a/+"));
        assertEquals(new Topics.SharedFilter("consumers", "#"), Topics.parseShared("$share/consumers/#"));
        assertEquals(new Topics.SharedFilter("g", "/"), Topics.parseShared("$share/g//"));
        assertNull(Topics.parseShared("sport/#"));
        assertNull(Topics.parseShared("$share"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Topics.parseShared("$share/g"));
        assertTrue(e.getMessage().contains("shared subscription without topic filter"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Topics.parseShared("$share//a"));
        assertThrows(IllegalArgumentException.class, () -> Topics.parseShared("$share/g/a#"));
    }

    @Test
    void wildcards() {
        assertTrue(Topics.hasWildcard("a/+/b"));
        assertTrue(Topics.hasWildcard("#"));
        assertTrue(Topics.hasWildcard("$share/g/a/#"));
        assertFalse(Topics.hasWildcard("a/b/c"));
        assertFalse(Topics.hasWildcard("$share/g/a"));
        assertFalse(Topics.hasWildcard("/"));
    }

    // ---- matching

    @ParameterizedTest(name = "{0} matches {1}: {2}")
    @CsvSource({
        // spec 4.7.1.2
        "sport/tennis/player1/#, sport/tennis/player1, true",
        "sport/tennis/player1/#, sport/tennis/player1/ranking, true",
        "sport/tennis/player1/#, sport/tennis/player1/score/wimbledon, true",
        "sport/tennis/player1/#, sport/tennis/player2, false",
        "sport/tennis/player1/#, sport/tennis, false",
        "sport/#, sport, true",
        "sport/#, sports, false",
        "sport/#, sport/, true",
        "#, sport, true",
        "#, /, true",
        "#, sport/tennis/player1, true",
        // spec 4.7.1.3
        "sport/tennis/+, sport/tennis/player1, true",
        "sport/tennis/+, sport/tennis/player2, true",
        "sport/tennis/+, sport/tennis/player1/ranking, false",
        "sport/tennis/+, sport/tennis, false",
        "sport/tennis/+, sport/tennis/, true",
        "sport/+, sport, false",
        "sport/+, sport/, true",
        "+, sport, true",
        "+, /sport, false",
        "+, sport/, false",
        "+/+, /finance, true",
        "/+, /finance, true",
        "+, /finance, false",
        "+/+, a/b, true",
        "+/+, a/b/c, false",
        "+/+, a, false",
        "+/tennis/#, sport/tennis/player1, true",
        "+/tennis/#, sport/tennis, true",
        "+/tennis/#, sport/golf, false",
        // empty levels
        "/, /, true",
        "//, //, true",
        "+/+/+, //, true",
        "a//b, a//b, true",
        "a/+/b, a//b, true",
        "a/+/b, a/b, false",
        "/#, /, true",
        "/#, /a/b, true",
        "/#, a, false",
        // exact
        "a/b, a/b, true",
        "a/b, a/bc, false",
        "a/bc, a/b, false",
        "a/b, a/b/, false",
        "a/b/, a/b, false",
        "A/b, a/b, false",
        // $ topics [MQTT-4.7.2-1]
        "#, $SYS/broker, false",
        "+/broker, $SYS/broker, false",
        "+, $SYS, false",
        "+/#, $SYS/x, false",
        "$SYS/#, $SYS/x, true",
        "$SYS/#, $SYS, true",
        "$SYS/+, $SYS/x, true",
        "$SYS/x, $SYS/x, true",
        "$SYS/#, $SYSTEM/x, false",
        "a/#, a/$SYS, true",
        "+/$x, a/$x, true",
        "+/+, a$/b, true",
        "#, a$, true"})
    void matching(String filter, String topic, boolean expected) {
        assertEquals(expected, Topics.matches(filter, topic), () -> filter + " vs " + topic);
    }

    @Test
    void matchingAgreesWithTree() {
        String[] filters = {"#", "+", "+/+", "/+", "a/#", "a/+", "a/+/c", "a/b/#", "+/b/#", "$SYS/#", "$SYS/+",
            "/", "a//c", "+/+/+", "a/b/c", "+/#"};
        String[] topics = {"a", "a/b", "a/b/c", "a/b/c/d", "/", "/a", "a/", "a//c", "$SYS", "$SYS/x", "$SYS/x/y",
            "b/b", "x/b/y", "//", "$", "$/a"};
        SubscriptionTree<String, String> tree = new SubscriptionTree<>();
        for (String f : filters) {
            tree.subscribe(null, f, f, f);
        }
        for (String t : topics) {
            java.util.Set<String> fromTree = new java.util.TreeSet<>();
            tree.match(t, new SubscriptionTree.Visitor<>() {
                @Override
                public void subscription(String key, String value) {
                    assertTrue(fromTree.add(key), "visited twice: " + key);
                }

                @Override
                public void sharedGroup(SubscriptionTree.SharedGroup<String, String> group) {
                    throw new AssertionError();
                }
            });
            java.util.Set<String> expected = new java.util.TreeSet<>();
            for (String f : filters) {
                if (Topics.matches(f, t)) {
                    expected.add(f);
                }
            }
            assertEquals(expected, fromTree, t);
            assertNotNull(t);
        }
    }
}
