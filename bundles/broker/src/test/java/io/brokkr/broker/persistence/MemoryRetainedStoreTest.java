package io.brokkr.broker.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.broker.topic.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The topic index of {@link MemoryRetainedStore}: wildcard lookups must return exactly what a brute-force scan with
 * {@link Topics#matches} returns, including the '$' rule [MQTT-4.7.2-1], empty levels and removals that prune.
 */
class MemoryRetainedStoreTest {

    private static final String[] LEVELS = {"a", "b", "c", "", "$SYS", "$x", "sensor", "1"};

    private static String randomTopic(Random r) {
        int n = 1 + r.nextInt(4);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append('/');
            }
            String l = LEVELS[r.nextInt(LEVELS.length)];
            sb.append(i > 0 && l.startsWith("$") ? "d" : l);
        }
        return sb.length() == 0 ? "a" : sb.toString(); // "" is not a topic name, "/" is
    }

    private static String randomFilter(Random r) {
        int n = 1 + r.nextInt(5);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append('/');
            }
            int k = r.nextInt(10);
            if (k < 3) {
                sb.append('+');
            } else if (k == 3 || (k == 4 && i == n - 1)) {
                sb.append('#');
                break;
            } else {
                String l = LEVELS[r.nextInt(LEVELS.length)];
                sb.append(i > 0 && l.startsWith("$") ? "d" : l);
            }
        }
        return sb.length() == 0 ? "/" : sb.toString();
    }

    private static Message msg(String topic, String payload) {
        return Message.of(topic, payload.getBytes(StandardCharsets.UTF_8), 0, true);
    }

    private static TreeSet<String> topics(List<Message> ms) {
        TreeSet<String> out = new TreeSet<>();
        for (Message m : ms) {
            assertTrue(out.add(m.topic()), "topic returned twice: " + m.topic());
        }
        return out;
    }

    @Test
    void wildcardLookupsEqualBruteForce() {
        Random r = new Random(42);
        for (int round = 0; round < 50; round++) {
            MemoryRetainedStore store = new MemoryRetainedStore();
            Map<String, Message> model = new TreeMap<>();
            for (int i = 0; i < 300; i++) {
                String t = randomTopic(r);
                if (r.nextInt(4) == 0) {
                    assertEquals(model.remove(t) != null, store.remove(t), "remove " + t);
                } else {
                    Message m = msg(t, "v" + i);
                    model.put(t, m);
                    store.put(m);
                }
            }
            assertEquals(model.size(), store.size());
            for (int i = 0; i < 200; i++) {
                String f = i == 0 ? "#" : i == 1 ? "+" : i == 2 ? "+/#" : randomFilter(r);
                assertNull(Topics.validateTopicFilter(f), f);
                TreeSet<String> expected = new TreeSet<>();
                for (String t : model.keySet()) {
                    if (Topics.matches(f, t)) {
                        expected.add(t);
                    }
                }
                List<Message> got = store.match(f);
                assertEquals(expected, topics(got), "filter " + f);
                for (Message m : got) {
                    assertEquals(model.get(m.topic()), m, "latest message of " + m.topic());
                }
            }
            for (String t : model.keySet()) {
                assertEquals(model.get(t), store.get(t));
            }
            assertEquals(model.keySet(), topics(store.all()));
        }
    }

    @Test
    void dollarTopicsOnlyMatchFiltersStartingWithTheirLevel() {
        MemoryRetainedStore store = new MemoryRetainedStore();
        store.put(msg("$SYS/broker/uptime", "1"));
        store.put(msg("$SYS", "root"));
        store.put(msg("a/b", "x"));
        assertEquals(new TreeSet<>(List.of("a/b")), topics(store.match("#")));
        assertEquals(new TreeSet<>(List.of("a/b")), topics(store.match("+/+")));
        assertEquals(new TreeSet<>(List.of("$SYS", "$SYS/broker/uptime")), topics(store.match("$SYS/#")));
        assertEquals(new TreeSet<>(List.of("$SYS/broker/uptime")), topics(store.match("$SYS/+/uptime")));
    }

    @Test
    void removalPrunesAndLaterPutsAreFound() {
        MemoryRetainedStore store = new MemoryRetainedStore();
        store.put(msg("a/b/c", "1"));
        store.put(msg("a", "2"));
        assertTrue(store.remove("a/b/c"));
        assertEquals(new TreeSet<>(List.of("a")), topics(store.match("a/#")));
        store.put(msg("a/b/c", "3"));
        assertEquals(new TreeSet<>(List.of("a", "a/b/c")), topics(store.match("a/#")));
        store.clear();
        assertEquals(0, store.size());
        assertTrue(store.match("#").isEmpty());
    }

    /** Readers never miss a topic that is not written while they run, whatever writers do to its neighbours. */
    @Test
    void concurrentWritersDoNotHideStableTopics() throws Exception {
        MemoryRetainedStore store = new MemoryRetainedStore();
        for (int i = 0; i < 100; i++) {
            store.put(msg("stable/" + i + "/x", "s"));
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(2);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            int seed = w;
            threads.add(new Thread(() -> {
                Random r = new Random(seed);
                try {
                    for (int i = 0; i < 200_000; i++) {
                        String t = "stable/" + r.nextInt(100) + "/y" + r.nextInt(3);
                        if (r.nextBoolean()) {
                            store.put(msg(t, "v"));
                        } else {
                            store.remove(t);
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                } finally {
                    done.countDown();
                }
            }));
        }
        threads.forEach(Thread::start);
        while (done.getCount() > 0) {
            assertEquals(100, store.match("stable/+/x").size());
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }
}
