package io.brokkr.broker.topic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class SubscriptionTreeTest {

    /** Collects what a match visits. */
    static final class Collector implements SubscriptionTree.Visitor<String, Integer> {
        final List<String> subscriptions = new ArrayList<>();
        final List<SubscriptionTree.SharedGroup<String, Integer>> groups = new ArrayList<>();

        @Override
        public void subscription(String key, Integer value) {
            subscriptions.add(key + "=" + value);
        }

        @Override
        public void sharedGroup(SubscriptionTree.SharedGroup<String, Integer> group) {
            groups.add(group);
        }

        List<String> sorted() {
            List<String> s = new ArrayList<>(subscriptions);
            Collections.sort(s);
            return s;
        }

        Set<String> groupNames() {
            Set<String> s = new TreeSet<>();
            for (SubscriptionTree.SharedGroup<String, Integer> g : groups) {
                s.add(g.group() + ":" + g.filter());
            }
            return s;
        }
    }

    private static Collector match(SubscriptionTree<String, Integer> tree, String topic) {
        Collector c = new Collector();
        tree.match(topic, c);
        return c;
    }

    @Test
    void emptyTreeMatchesNothing() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        Collector c = match(tree, "a/b");
        assertTrue(c.subscriptions.isEmpty());
        assertTrue(c.groups.isEmpty());
        assertEquals(0, tree.size());
        assertEquals(0, tree.nodeCount());
    }

    @Test
    void exactAndWildcardSubscriptions() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        assertNull(tree.subscribe(null, "sport/tennis/player1", "c1", 1));
        assertNull(tree.subscribe(null, "sport/tennis/+", "c2", 2));
        assertNull(tree.subscribe(null, "sport/#", "c3", 3));
        assertNull(tree.subscribe(null, "#", "c4", 4));
        assertNull(tree.subscribe(null, "sport/golf", "c5", 5));
        assertEquals(5, tree.size());

        assertEquals(List.of("c1=1", "c2=2", "c3=3", "c4=4"), match(tree, "sport/tennis/player1").sorted());
        assertEquals(List.of("c2=2", "c3=3", "c4=4"), match(tree, "sport/tennis/player2").sorted());
        assertEquals(List.of("c3=3", "c4=4"), match(tree, "sport/tennis/player1/ranking").sorted());
        assertEquals(List.of("c3=3", "c4=4", "c5=5"), match(tree, "sport/golf").sorted());
        assertEquals(List.of("c3=3", "c4=4"), match(tree, "sport").sorted());
        assertEquals(List.of("c4=4"), match(tree, "other").sorted());
        assertEquals(List.of("c2=2", "c3=3", "c4=4"), match(tree, "sport/tennis/").sorted());
    }

    @Test
    void overlappingFiltersOfOneKeyAreVisitedOncePerFilter() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        tree.subscribe(null, "a/b", "c", 0);
        tree.subscribe(null, "a/+", "c", 1);
        tree.subscribe(null, "a/#", "c", 2);
        tree.subscribe(null, "#", "c", 3);
        tree.subscribe(null, "+/+", "c", 4);
        tree.subscribe(null, "+/b", "d", 5);
        assertEquals(List.of("c=0", "c=1", "c=2", "c=3", "c=4", "d=5"), match(tree, "a/b").sorted());
        assertEquals(List.of("c=2", "c=3"), match(tree, "a").sorted());
        assertEquals(6, tree.size());
    }

    @Test
    void subscribeReplacesValue() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        assertNull(tree.subscribe(null, "a/b", "c1", 1));
        assertEquals(1, tree.subscribe(null, "a/b", "c1", 2));
        assertEquals(2, tree.subscribe(null, "a/b", "c1", 3));
        assertEquals(1, tree.size());
        assertEquals(List.of("c1=3"), match(tree, "a/b").sorted());
        assertEquals(3, tree.get(null, "a/b", "c1"));
        assertNull(tree.get(null, "a/b", "c2"));
        assertNull(tree.get(null, "a/c", "c1"));
        assertNull(tree.get("g", "a/b", "c1"));
    }

    @Test
    void emptyLevels() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        tree.subscribe(null, "+/+", "plusplus", 1);
        tree.subscribe(null, "/+", "slashplus", 2);
        tree.subscribe(null, "+", "plus", 3);
        tree.subscribe(null, "/finance", "exact", 4);
        tree.subscribe(null, "//", "two", 5);
        tree.subscribe(null, "+/+/+", "three", 6);
        assertEquals(List.of("exact=4", "plusplus=1", "slashplus=2"), match(tree, "/finance").sorted());
        assertEquals(List.of("plus=3"), match(tree, "finance").sorted());
        assertEquals(List.of("plusplus=1", "slashplus=2"), match(tree, "/").sorted());
        assertEquals(List.of("three=6", "two=5"), match(tree, "//").sorted());
        assertEquals(List.of("plusplus=1"), match(tree, "finance/").sorted());
    }

    @Test
    void dollarTopicsAreNotMatchedByLeadingWildcards() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        tree.subscribe(null, "#", "all", 1);
        tree.subscribe(null, "+/broker/#", "plus", 2);
        tree.subscribe(null, "+", "single", 3);
        tree.subscribe(null, "$SYS/#", "sys", 4);
        tree.subscribe(null, "$SYS/+/clients", "sysplus", 5);
        tree.subscribe(null, "$SYS/broker/clients", "exact", 6);
        tree.subscribe("g", "#", "shared", 7);
        tree.subscribe("g", "$SYS/#", "sharedsys", 8);

        Collector sys = match(tree, "$SYS/broker/clients");
        assertEquals(List.of("exact=6", "sys=4", "sysplus=5"), sys.sorted());
        assertEquals(Set.of("g:$SYS/#"), sys.groupNames());
        assertEquals(List.of("sys=4"), match(tree, "$SYS").sorted());
        assertEquals(List.of(), match(tree, "$other").sorted());

        Collector normal = match(tree, "x/broker/clients");
        assertEquals(List.of("all=1", "plus=2"), normal.sorted());
        assertEquals(Set.of("g:#"), normal.groupNames());
        assertEquals(List.of("all=1", "single=3"), match(tree, "x").sorted());
        // '$' not in the first character is an ordinary character
        assertEquals(List.of("all=1", "single=3"), match(tree, "a$").sorted());
    }

    @Test
    void unsubscribePrunesNodes() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        tree.subscribe(null, "a/b/c/d", "k", 1);
        assertEquals(4, tree.nodeCount());
        tree.subscribe(null, "a/b/x", "k", 2);
        assertEquals(5, tree.nodeCount());
        tree.subscribe(null, "a/b", "k", 3);
        assertEquals(5, tree.nodeCount());

        assertNull(tree.unsubscribe(null, "a/b/c/d", "other"));
        assertNull(tree.unsubscribe(null, "a/b/c", "k")); // intermediate node without subscription
        assertNull(tree.unsubscribe(null, "nothing/here", "k"));
        assertNull(tree.unsubscribe("g", "a/b/c/d", "k"));
        assertEquals(3, tree.size());
        assertEquals(5, tree.nodeCount());

        assertEquals(1, tree.unsubscribe(null, "a/b/c/d", "k"));
        assertEquals(3, tree.nodeCount()); // c and d pruned
        assertNull(tree.unsubscribe(null, "a/b/c/d", "k"));
        assertEquals(3, tree.unsubscribe(null, "a/b", "k"));
        assertEquals(3, tree.nodeCount()); // b still has child x
        assertEquals(2, tree.unsubscribe(null, "a/b/x", "k"));
        assertEquals(0, tree.nodeCount());
        assertEquals(0, tree.size());
        assertTrue(match(tree, "a/b/x").subscriptions.isEmpty());

        // the tree is usable again after pruning
        tree.subscribe(null, "a/b/x", "k", 4);
        assertEquals(List.of("k=4"), match(tree, "a/b/x").sorted());
        assertEquals(3, tree.nodeCount());
    }

    @Test
    void randomSubscribeUnsubscribeLeavesNothingBehind() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        Random random = new Random(42);
        Map<String, Integer> model = new HashMap<>();
        for (int i = 0; i < 5_000; i++) {
            String filter = randomFilter(random);
            String group = random.nextInt(4) == 0 ? "g" + random.nextInt(2) : null;
            String key = "c" + random.nextInt(5);
            String id = group + "|" + filter + "|" + key;
            if (random.nextBoolean()) {
                assertEquals(model.put(id, i), tree.subscribe(group, filter, key, i), id);
            } else {
                assertEquals(model.remove(id), tree.unsubscribe(group, filter, key), id);
            }
            assertEquals(model.size(), tree.size());
        }
        Map<String, Integer> seen = new HashMap<>();
        tree.forEach((group, filter, key, value) -> assertNull(seen.put(group + "|" + filter + "|" + key, value)));
        assertEquals(model, seen);
        for (String id : new ArrayList<>(model.keySet())) {
            String[] p = id.split("\\|", -1);
            assertEquals(model.remove(id), tree.unsubscribe("null".equals(p[0]) ? null : p[0], p[1], p[2]));
        }
        assertEquals(0, tree.size());
        assertEquals(0, tree.nodeCount());
    }

    private static String randomFilter(Random random) {
        String[] levels = {"a", "b", "c", "", "+", "long-level-name"};
        int n = 1 + random.nextInt(4);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append('/');
            }
            sb.append(levels[random.nextInt(levels.length)]);
        }
        if (random.nextInt(5) == 0) {
            sb.append("/#");
        }
        return sb.length() == 0 ? "#" : sb.toString();
    }

    @Test
    void sharedGroups() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        assertNull(tree.subscribe("g1", "a/+", "c1", 1));
        assertNull(tree.subscribe("g1", "a/+", "c2", 2));
        assertNull(tree.subscribe("g1", "a/#", "c3", 3));
        assertNull(tree.subscribe("g2", "a/+", "c1", 4));
        assertNull(tree.subscribe(null, "a/+", "c1", 5));
        assertEquals(2, tree.subscribe("g1", "a/+", "c2", 22));
        assertEquals(5, tree.size());
        assertEquals(22, tree.get("g1", "a/+", "c2"));
        assertNull(tree.get("g3", "a/+", "c2"));

        Collector c = match(tree, "a/b");
        assertEquals(List.of("c1=5"), c.sorted());
        assertEquals(Set.of("g1:a/+", "g1:a/#", "g2:a/+"), c.groupNames());
        assertEquals(3, c.groups.size());
        for (SubscriptionTree.SharedGroup<String, Integer> g : c.groups) {
            List<Map.Entry<String, Integer>> members = g.members();
            assertFalse(members.isEmpty());
            assertThrows(UnsupportedOperationException.class, () -> members.add(Map.entry("x", 0)));
            if (g.group().equals("g1") && g.filter().equals("a/+")) {
                assertEquals(List.of(Map.entry("c1", 1), Map.entry("c2", 22)), members);
            }
        }

        Collector onlyParent = match(tree, "a");
        assertEquals(Set.of("g1:a/#"), onlyParent.groupNames());

        // a snapshot taken by a match stays the same after membership changes
        SubscriptionTree.SharedGroup<String, Integer> before = group(tree, "a/b", "g1", "a/+");
        assertEquals(1, tree.unsubscribe("g1", "a/+", "c1"));
        assertEquals(2, before.members().size());
        assertEquals(List.of(Map.entry("c2", 22)), group(tree, "a/b", "g1", "a/+").members());
        assertEquals(22, tree.unsubscribe("g1", "a/+", "c2"));
        assertEquals(Set.of("g1:a/#", "g2:a/+"), match(tree, "a/b").groupNames());
        assertNull(tree.unsubscribe("g1", "a/+", "c2"));

        Map<String, Integer> all = new HashMap<>();
        tree.forEach((group, filter, key, value) -> all.put(group + "|" + filter + "|" + key, value));
        assertEquals(Map.of("g1|a/#|c3", 3, "g2|a/+|c1", 4, "null|a/+|c1", 5), all);

        tree.unsubscribe("g1", "a/#", "c3");
        tree.unsubscribe("g2", "a/+", "c1");
        tree.unsubscribe(null, "a/+", "c1");
        assertEquals(0, tree.size());
        assertEquals(0, tree.nodeCount());
    }

    @Test
    void sharedGroupLookup() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        assertNull(tree.sharedGroup("g", "a/+"));
        tree.subscribe("g", "a/+", "c1", 1);
        tree.subscribe("g", "a/+", "c2", 2);
        tree.subscribe("h", "a/+", "c3", 3);
        tree.subscribe(null, "a/+", "c4", 4);
        SubscriptionTree.SharedGroup<String, Integer> g = tree.sharedGroup("g", "a/+");
        assertEquals(List.of(Map.entry("c1", 1), Map.entry("c2", 2)), g.members());
        assertEquals("a/+", g.filter());
        assertNull(tree.sharedGroup("g", "a/#"));
        assertNull(tree.sharedGroup("x", "a/+"));
        // the lookup shares the round-robin counter with matches
        int n = g.next();
        assertEquals(n + 1, group(tree, "a/b", "g", "a/+").next());
        tree.unsubscribe("g", "a/+", "c1");
        assertEquals(List.of(Map.entry("c2", 2)), tree.sharedGroup("g", "a/+").members());
        tree.unsubscribe("g", "a/+", "c2");
        assertNull(tree.sharedGroup("g", "a/+"));
        assertEquals(List.of(Map.entry("c3", 3)), tree.sharedGroup("h", "a/+").members());
    }

    private static SubscriptionTree.SharedGroup<String, Integer> group(SubscriptionTree<String, Integer> tree,
            String topic, String group, String filter) {
        for (SubscriptionTree.SharedGroup<String, Integer> g : match(tree, topic).groups) {
            if (g.group().equals(group) && g.filter().equals(filter)) {
                return g;
            }
        }
        throw new AssertionError("no group " + group + " on " + filter);
    }

    @Test
    void roundRobinCounterIsSharedAcrossSnapshots() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        tree.subscribe("g", "t", "c1", 1);
        tree.subscribe("g", "t", "c2", 2);
        tree.subscribe("g", "t", "c3", 3);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            SubscriptionTree.SharedGroup<String, Integer> g = group(tree, "t", "g", "t");
            List<Map.Entry<String, Integer>> m = g.members();
            counts.merge(m.get(g.next() % m.size()).getKey(), 1, Integer::sum);
        }
        assertEquals(Map.of("c1", 100, "c2", 100, "c3", 100), counts);

        // the counter survives membership changes (no restart at member 0)
        SubscriptionTree.SharedGroup<String, Integer> g = group(tree, "t", "g", "t");
        int a = g.next();
        tree.subscribe("g", "t", "c4", 4);
        SubscriptionTree.SharedGroup<String, Integer> g2 = group(tree, "t", "g", "t");
        assertEquals(4, g2.members().size());
        assertEquals(a + 1, g2.next());
    }

    @Test
    void roundRobinCounterNeverNegative() {
        SubscriptionTree.SharedGroup<String, Integer> g = new SubscriptionTree.SharedGroup<>("g", "t",
                List.of(Map.entry("c", 1)), new java.util.concurrent.atomic.AtomicInteger(Integer.MAX_VALUE - 2));
        for (int i = 0; i < 10; i++) {
            assertTrue(g.next() >= 0);
        }
    }

    @Test
    void rejectsInvalidInput() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe(null, "a/#/b", "k", 1));
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe(null, "", "k", 1));
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe(null, "a+", "k", 1));
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe(null, "$share/g/a", "k", 1));
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe("", "a", "k", 1));
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe("g/h", "a", "k", 1));
        assertThrows(IllegalArgumentException.class, () -> tree.subscribe("g+", "a", "k", 1));
        assertThrows(NullPointerException.class, () -> tree.subscribe(null, "a", null, 1));
        assertThrows(NullPointerException.class, () -> tree.subscribe(null, "a", "k", null));
        assertEquals(0, tree.size());
        assertEquals(0, tree.nodeCount());
    }

    @Test
    void deepFiltersDoNotOverflowTheStack() {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        String deepPlus = "+/".repeat(20_000) + "#";
        String topic = "a/".repeat(20_000) + "a";
        tree.subscribe(null, deepPlus, "plus", 1);
        tree.subscribe(null, topic, "exact", 2);
        assertEquals(List.of("exact=2", "plus=1"), match(tree, topic).sorted());
        tree.unsubscribe(null, deepPlus, "plus");
        tree.unsubscribe(null, topic, "exact");
        assertEquals(0, tree.nodeCount());
    }

    @Test
    void branchingMatchVisitsEveryPath() {
        // every combination of exact and '+' over 10 levels: 1024 filters, all matching (deep explicit stack)
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        for (int mask = 0; mask < 1024; mask++) {
            StringBuilder f = new StringBuilder();
            for (int l = 0; l < 10; l++) {
                f.append(l == 0 ? "" : "/").append((mask & (1 << l)) != 0 ? "+" : "l" + l);
            }
            tree.subscribe(null, f.toString(), "k" + mask, mask);
        }
        Collector c = match(tree, "l0/l1/l2/l3/l4/l5/l6/l7/l8/l9");
        assertEquals(1024, c.subscriptions.size());
        assertEquals(1024, new TreeSet<>(c.subscriptions).size());
        assertEquals(1, match(tree, "x/x/x/x/x/x/x/x/x/x").subscriptions.size());
        assertEquals(512, match(tree, "x/l1/l2/l3/l4/l5/l6/l7/l8/l9").subscriptions.size());
    }

    @Test
    void concurrentSubscribeUnsubscribeAndMatch() throws Exception {
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        // stable subscriptions that every match of "s/<n>/x" must always see
        tree.subscribe(null, "s/#", "stable", -1);
        tree.subscribe("sg", "s/+/x", "stable", -2);
        int writers = 4;
        int readers = 3;
        int rounds = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(writers + readers);
        CyclicBarrier start = new CyclicBarrier(writers + readers);
        AtomicBoolean done = new AtomicBoolean();
        Map<String, Integer> finalState = new ConcurrentHashMap<>();
        try {
            List<Future<?>> writerFutures = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int id = w;
                writerFutures.add(pool.submit(() -> {
                    Random random = new Random(id);
                    start.await();
                    Map<String, Integer> mine = new HashMap<>();
                    for (int i = 0; i < rounds; i++) {
                        String filter = "s/" + random.nextInt(20) + (random.nextBoolean() ? "/x" : "/+")
                                + (random.nextInt(3) == 0 ? "/#" : "");
                        String group = random.nextInt(4) == 0 ? "g" + random.nextInt(2) : null;
                        String key = "w" + id + "-" + random.nextInt(3);
                        String idKey = group + "|" + filter + "|" + key;
                        if (random.nextInt(3) > 0) {
                            assertEquals(mine.put(idKey, i), tree.subscribe(group, filter, key, i));
                        } else {
                            assertEquals(mine.remove(idKey), tree.unsubscribe(group, filter, key));
                        }
                    }
                    finalState.putAll(mine);
                    return null;
                }));
            }
            List<Future<Long>> readerFutures = new ArrayList<>();
            for (int r = 0; r < readers; r++) {
                int id = r;
                readerFutures.add(pool.submit(() -> {
                    Random random = new Random(100 + id);
                    start.await();
                    long matches = 0;
                    while (!done.get()) {
                        String topic = "s/" + random.nextInt(20) + "/x";
                        boolean[] stable = new boolean[2];
                        tree.match(topic, new SubscriptionTree.Visitor<>() {
                            @Override
                            public void subscription(String key, Integer value) {
                                if (key.equals("stable")) {
                                    stable[0] = true;
                                }
                            }

                            @Override
                            public void sharedGroup(SubscriptionTree.SharedGroup<String, Integer> group) {
                                List<Map.Entry<String, Integer>> m = group.members();
                                if (m.isEmpty()) {
                                    throw new AssertionError("empty group " + group);
                                }
                                int n = group.next();
                                if (n < 0) {
                                    throw new AssertionError("negative counter");
                                }
                                m.get(n % m.size());
                                if (group.group().equals("sg")) {
                                    stable[1] = true;
                                }
                            }
                        });
                        if (!stable[0] || !stable[1]) {
                            throw new AssertionError("stable subscription not seen for " + topic);
                        }
                        matches++;
                        if (matches % 64 == 0) {
                            tree.forEach((g, f, k, v) -> { });
                            tree.size();
                        }
                    }
                    return matches;
                }));
            }
            for (Future<?> f : writerFutures) {
                f.get(5, TimeUnit.MINUTES);
            }
            done.set(true);
            for (Future<Long> f : readerFutures) {
                assertTrue(f.get(1, TimeUnit.MINUTES) > 0);
            }
        } finally {
            done.set(true);
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
        }

        // the tree now holds exactly what the writers think it holds, plus the two stable subscriptions
        Map<String, Integer> seen = new HashMap<>();
        tree.forEach((group, filter, key, value) -> assertNull(seen.put(group + "|" + filter + "|" + key, value)));
        Map<String, Integer> expected = new HashMap<>(finalState);
        expected.put("null|s/#|stable", -1);
        expected.put("sg|s/+/x|stable", -2);
        assertEquals(expected, seen);
        assertEquals(expected.size(), tree.size());

        // and every match agrees with Topics.matches over that state
        for (int n = 0; n < 20; n++) {
            String topic = "s/" + n + "/x";
            Set<String> fromTree = new TreeSet<>();
            tree.match(topic, new SubscriptionTree.Visitor<>() {
                @Override
                public void subscription(String key, Integer value) {
                    fromTree.add("null|" + key + "=" + value);
                }

                @Override
                public void sharedGroup(SubscriptionTree.SharedGroup<String, Integer> group) {
                    for (Map.Entry<String, Integer> e : group.members()) {
                        fromTree.add(group.group() + "|" + e.getKey() + "=" + e.getValue());
                    }
                }
            });
            Set<String> fromModel = new TreeSet<>();
            for (Map.Entry<String, Integer> e : expected.entrySet()) {
                String[] p = e.getKey().split("\\|", -1);
                if (Topics.matches(p[1], topic)) {
                    fromModel.add(p[0] + "|" + p[2] + "=" + e.getValue());
                }
            }
            assertEquals(fromModel, fromTree, topic);
        }

        // unsubscribing everything leaves an empty tree
        for (String id : expected.keySet()) {
            String[] p = id.split("\\|", -1);
            tree.unsubscribe("null".equals(p[0]) ? null : p[0], p[1], p[2]);
        }
        assertEquals(0, tree.size());
        assertEquals(0, tree.nodeCount());
    }

    @Test
    void concurrentChurnOnSameFiltersPrunesEverything() throws Exception {
        // many threads subscribing and unsubscribing the same few filters, racing creation against pruning
        SubscriptionTree<String, Integer> tree = new SubscriptionTree<>();
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                futures.add(pool.submit(() -> {
                    go.await();
                    Random random = new Random(id);
                    for (int i = 0; i < 20_000; i++) {
                        String filter = "p/" + random.nextInt(3) + "/q/" + random.nextInt(3);
                        String key = "t" + id;
                        tree.subscribe(null, filter, key, i);
                        Collector c = match(tree, filter);
                        if (!c.subscriptions.contains(key + "=" + i)) {
                            throw new AssertionError("own subscription not visible: " + filter);
                        }
                        assertEquals(i, tree.unsubscribe(null, filter, key));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : futures) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
        }
        assertEquals(0, tree.size());
        assertEquals(0, tree.nodeCount());
    }
}
