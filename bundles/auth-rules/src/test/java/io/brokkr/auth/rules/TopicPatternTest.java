package io.brokkr.auth.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A rule's filter against topics (publish) and against requested filters (subscribe: covered when every topic the
 * requested filter matches is matched by the rule's filter), and the %u / %c placeholders.
 */
class TopicPatternTest {

    @ParameterizedTest(name = "{0} covers {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # rule filter | topic or requested filter | covered
            sensors/#     | sensors                   | true
            sensors/#     | sensors/a                 | true
            sensors/#     | sensors/a/b/c             | true
            sensors/#     | sensors/+                 | true
            sensors/#     | sensors/+/t               | true
            sensors/#     | sensors/#                 | true
            sensors/#     | sensors/a/#               | true
            sensors/#     | sensorsX                  | false
            sensors/#     | other/a                   | false
            sensors/#     | #                         | false
            sensors/#     | +/a                       | false
            sensors/#     | +                         | false
            sensors/+     | sensors/a                 | true
            sensors/+     | sensors/+                 | true
            sensors/+     | sensors                   | false
            sensors/+     | sensors/a/b               | false
            sensors/+     | sensors/#                 | false
            sensors/+     | sensors/+/#               | false
            sensors/+/t   | sensors/a/t               | true
            sensors/+/t   | sensors/+/t               | true
            sensors/+/t   | sensors/a/u               | false
            sensors/+/t   | sensors/+/+               | false
            sensors/a     | sensors/a                 | true
            sensors/a     | sensors/+                 | false
            sensors/a     | sensors/#                 | false
            sensors/a     | sensors/a/b               | false
            sensors/a     | sensors                   | false
            sensors/a     | Sensors/a                 | false
            +/+           | a/b                       | true
            +/+           | +/+                       | true
            +/+           | a/#                       | false
            +/+           | a                         | false
            +/#           | a                         | true
            +/#           | a/b/c                     | true
            +/#           | +/#                       | true
            +/#           | #                         | true
            +/+/#         | #                         | false
            a/+/#         | a/#                       | false
            a/+/#         | a/+                       | true
            a/+/#         | a/b/#                     | true
            #             | a/b                       | true
            #             | #                         | true
            #             | +/+/#                     | true
            #             | $SYS/broker               | false
            #             | $SYS/#                    | false
            +/broker      | $SYS/broker               | false
            $SYS/#        | $SYS/broker/uptime        | true
            $SYS/#        | $SYS/#                    | true
            $SYS/#        | #                         | false
            a//b          | a//b                      | true
            a/+/b         | a//b                      | true
            a/            | a/                        | true
            a/            | a                         | false
            a/#           | a/                        | true
            /a            | /a                        | true
            +/a           | /a                        | true
            """)
    void coverage(String rule, String requested, boolean covered) {
        assertEquals(covered, TopicPattern.compile(rule).covers(requested, 0, "u", "c"));
        // the same from an offset, as for the filter of a shared subscription
        assertEquals(covered, TopicPattern.compile(rule).covers("$share/g/" + requested, 9, "u", "c"));
    }

    @ParameterizedTest(name = "{0} for user {2}, client {3}: {1} {4}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            users/%u/#     | users/alice/x     | alice    | c1     | true
            users/%u/#     | users/alice       | alice    | c1     | true
            users/%u/#     | users/bob/x       | alice    | c1     | false
            users/%u/#     | users/+/x         | alice    | c1     | false
            users/%u/#     | users/alice/x     | NULL     | c1     | false
            users/%u/#     | users//x          | ''       | c1     | false
            users/%u/#     | users/a/x         | a/b      | c1     | false
            users/%u/#     | users/a/b/x       | a/b      | c1     | false
            users/%u/#     | users/+/x         | +        | c1     | false
            users/%u/#     | users/#           | '#'      | c1     | false
            d/%c/in        | d/c1/in           | alice    | c1     | true
            d/%c/in        | d/c2/in           | alice    | c1     | false
            d/%c/in        | d/+/in            | alice    | c1     | false
            d/%c/in        | d/+/in            | alice    | +      | false
            d/%c/in        | d/#               | alice    | '#'    | false
            d/%c/in        | d/c1/in           | NULL     | c1     | true
            t/%u-%c/x      | t/alice-c1/x      | alice    | c1     | true
            t/%u-%c/x      | t/alice-c2/x      | alice    | c1     | false
            t/%u-%c/x      | t/alice-c1        | alice    | c1     | false
            t/pre%usuf     | t/prealicesuf     | alice    | c1     | true
            t/pre%usuf     | t/prealice        | alice    | c1     | false
            t/100%/x       | t/100%/x          | alice    | c1     | true
            %u/#           | alice/x           | alice    | c1     | true
            %u/#           | $SYS/x            | $SYS     | c1     | false
            %c/#           | $SYS/#            | alice    | $SYS   | false
            u/%u/#         | u/$bob/x          | $bob     | c1     | true
            """)
    void placeholders(String rule, String requested, String user, String client, boolean covered) {
        assertEquals(covered, TopicPattern.compile(rule).covers(requested, 0, user, client));
    }

    /**
     * The coverage check against its definition on random filters over a small alphabet: a rule filter covers a
     * requested filter exactly when it matches every topic (up to 4 levels deeper than both) that the requested
     * filter matches, checked by enumerating those topics.
     */
    @Test
    void coverageAgreesWithEnumeratingTopics() {
        Random rnd = new Random(7);
        String[] names = {"a", "b", "$s"};
        List<String> topics = new ArrayList<>();
        enumerate("", 0, 5, names, topics);
        int checked = 0;
        for (int i = 0; i < 20000; i++) {
            String rule = randomFilter(rnd, names);
            String req = randomFilter(rnd, names);
            boolean expected = true;
            for (String t : topics) {
                if (matches(req, t) && !matches(rule, t)) {
                    expected = false;
                    break;
                }
            }
            assertEquals(expected, TopicPattern.compile(rule).covers(req, 0, "u", "c"), rule + " covers " + req);
            checked++;
        }
        assertEquals(20000, checked);
    }

    private static void enumerate(String prefix, int depth, int max, String[] names, List<String> out) {
        if (depth > 0) {
            out.add(prefix);
        }
        if (depth == max) {
            return;
        }
        for (String n : names) {
            if (depth > 0 && n.startsWith("$")) {
                continue; // '$' matters only at the start
            }
            enumerate(depth == 0 ? n : prefix + "/" + n, depth + 1, max, names, out);
        }
    }

    private static String randomFilter(Random rnd, String[] names) {
        int levels = 1 + rnd.nextInt(3);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < levels; i++) {
            if (i > 0) {
                b.append('/');
            }
            int k = rnd.nextInt(5);
            if (k == 0 && i == levels - 1) {
                b.append('#');
            } else if (k <= 1) {
                b.append('+');
            } else {
                String n = names[rnd.nextInt(names.length)];
                b.append(i > 0 && n.startsWith("$") ? "a" : n);
            }
        }
        return b.toString();
    }

    /** Topic filter matching written from MQTT 4.7 directly, for reference. */
    private static boolean matches(String filter, String topic) {
        if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) {
            return false;
        }
        String[] f = filter.split("/", -1);
        String[] t = topic.split("/", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals("#")) {
                return true;
            }
            if (i >= t.length) {
                return false;
            }
            if (!f[i].equals("+") && !f[i].equals(t[i])) {
                return false;
            }
        }
        return f.length == t.length;
    }
}
