package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.SinkInfo;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Message sinks fed through the journal: every QoS 1/2 message the broker acknowledged reaches every sink that
 * matches it, in order, once per record id, across a failing store, a sink service that goes away and comes back
 * (a bundle stop/update/re-install), a pause, and a broker restart. The "store" is an in-process sink keyed by record
 * id, as a database with the id as primary key would be.
 */
class SinkJournalTest extends JournalBrokerTestBase {

    /** A store keyed by record id that remembers the order of first writes and counts every write. */
    static final class Store implements MessageSink {
        final Map<String, String> byId = new ConcurrentHashMap<>();
        final List<String> order = new CopyOnWriteArrayList<>();
        final AtomicInteger writes = new AtomicInteger();
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean down;
        volatile String downMessage = "store down";

        @Override
        public CompletableFuture<Void> write(List<SinkRecord> batch) {
            calls.incrementAndGet();
            if (down) {
                return CompletableFuture.failedFuture(new IllegalStateException(downMessage));
            }
            for (SinkRecord r : batch) {
                writes.incrementAndGet();
                String payload = new String(r.message().payload(), StandardCharsets.UTF_8);
                if (byId.putIfAbsent(r.id(), payload) == null) {
                    order.add(payload);
                }
            }
            return CompletableFuture.completedFuture(null);
        }

        List<String> payloads() {
            return new ArrayList<>(order);
        }
    }

    private Broker start() {
        broker = TestBroker.start(journalConfig());
        return broker;
    }

    private static List<String> range(String prefix, int from, int to) {
        List<String> l = new ArrayList<>();
        for (int i = from; i < to; i++) {
            l.add(prefix + i);
        }
        return l;
    }

    private SinkInfo info(String name) {
        return broker.sinks().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @ParameterizedTest(name = "journal.fsync = {0}")
    @ValueSource(strings = {BrokerConfig.JOURNAL_FSYNC_ALWAYS, BrokerConfig.JOURNAL_FSYNC_INTERVAL})
    void acknowledgedMessagesReachTheSinkInOrderOncePerIdAndOnlyMatchingTopics(String fsync) throws Exception {
        broker = TestBroker.start(journalConfig().journalFsync(fsync));
        Store store = new Store();
        broker.bindSink("s1", store, Map.of("topics", "data/#", "batch.size", "7"));
        try (RawClient c = RawClient.v5(TestBroker.port(broker), "pub")) {
            for (int i = 0; i < 50; i++) {
                MqttMessage ack = c.publish1("data/x", "m" + i, i + 1);
                assertEquals(0, Packets.reasonCode(ack), "a message only a sink takes is acknowledged with success");
            }
            c.publish1("other/x", "no", 100);
            c.publish2("data/y", "q2", 101);
        }
        List<String> expected = range("m", 0, 50);
        expected.add("q2");
        Await.until("52 records stored", 10_000, () -> store.byId.size() >= 51);
        assertEquals(expected, store.payloads());
        SinkInfo i = info("s1");
        assertEquals("running", i.state());
        assertEquals(51, i.written());
        assertEquals(List.of("data/#"), i.topics());
        Await.until("backlog 0", 5000, () -> info("s1").pendingRecords() == 0);
        assertTrue(store.calls.get() >= 51 / 7, "batches of at most 7");
        assertTrue(store.byId.keySet().stream().allMatch(id -> id.matches("[0-9a-f-]+-[0-9]+")),
                "ids are <journal id>-<sequence>: " + store.byId.keySet());
    }

    /**
     * Six publishers with 20 messages in flight each, spread over the loops, get every PUBACK in order, and the sink
     * gets each message once, each publisher's in its order. With {@code journal.fsync = interval} (the default) the
     * event loops write their own batches of journal records (the writer thread takes over when one is writing
     * already, or at a segment roll); with {@code always} the writer thread writes and forces them.
     */
    @ParameterizedTest(name = "journal.fsync = {0}")
    @ValueSource(strings = {BrokerConfig.JOURNAL_FSYNC_ALWAYS, BrokerConfig.JOURNAL_FSYNC_INTERVAL})
    void publishersOnEveryLoopHaveEachMessageStoredOnceInOrder(String fsync) throws Exception {
        broker = TestBroker.start(journalConfig().journalFsync(fsync));
        Store store = new Store();
        broker.bindSink("s1", store, Map.of("topics", "p/#"));
        int publishers = 6;
        int windows = 25;
        int window = 20;
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < publishers; p++) {
            int pp = p;
            threads.add(new Thread(() -> {
                try (RawClient c = RawClient.v5(TestBroker.port(broker), "pub" + pp)) {
                    int n = 0;
                    for (int w = 0; w < windows; w++) {
                        for (int k = 0; k < window; k++) {
                            c.publish("p/" + pp, 1, k + 1, pp + ":" + (n + k));
                        }
                        for (int k = 0; k < window; k++) {
                            MqttMessage ack = c.expect(MqttMessageType.PUBACK);
                            assertEquals(k + 1, Packets.packetId(ack), "PUBACKs in the PUBLISHes' order");
                            assertEquals(0, Packets.reasonCode(ack));
                        }
                        n += window;
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join(60_000);
        }
        assertEquals(List.of(), errors);
        int total = publishers * windows * window;
        Await.until(total + " records stored", 10_000, () -> store.byId.size() >= total);
        assertEquals(total, store.byId.size());
        assertEquals(total, store.writes.get(), "each record written once");
        List<String> order = store.payloads();
        for (int p = 0; p < publishers; p++) {
            String prefix = p + ":";
            List<String> mine = order.stream().filter(x -> x.startsWith(prefix)).toList();
            assertEquals(range(prefix, 0, windows * window), mine, "publisher " + p);
        }
    }

    @Test
    void failedWritesAreRetriedWithTheSameRecordsAndShownAsRetrying() throws Exception {
        start();
        Store store = new Store();
        store.down = true;
        store.downMessage = "connection refused: localhost:6379";
        broker.bindSink("flaky", store, Map.of("topics", "#"));
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "pub")) {
            for (int i = 0; i < 20; i++) {
                c.publish1("t/" + (i % 3), "m" + i, i + 1);
            }
        }
        Await.until("retrying", 5000, () -> info("flaky").state().equals("retrying") && info("flaky").retries() >= 2);
        SinkInfo i = info("flaky");
        assertEquals("connection refused: localhost:6379", i.lastError());
        assertEquals(20, i.pendingRecords(), "the records wait in the journal");
        assertEquals(0, store.byId.size());
        store.down = false;
        try {
            Await.until("20 stored after the store came back", 10_000, () -> store.byId.size() == 20);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + store.byId.size() + " " + info("flaky") + " calls "
                    + store.calls, e);
        }
        assertEquals(range("m", 0, 20), store.payloads());
        Await.until("running", 5000, () -> info("flaky").state().equals("running"));
        assertEquals(0, info("flaky").failed());
    }

    @Test
    void aSinkServiceThatGoesAwayGetsItsBacklogWhenAServiceWithItsNameComesBack() throws Exception {
        start();
        Store first = new Store();
        broker.bindSink("io.brokkr.connector.test~main", first, Map.of("topics", "d/#", "batch.size", "5"));
        AtomicBoolean run = new AtomicBoolean(true);
        AtomicInteger acked = new AtomicInteger();
        List<String> sent = new CopyOnWriteArrayList<>();
        Thread publisher = new Thread(() -> {
            try (RawClient c = RawClient.v5(TestBroker.port(broker), "loader")) {
                for (int i = 0; run.get() || i < 300; i++) {
                    c.publish1("d/" + (i % 4), "m" + i, (i % 60000) + 1);
                    sent.add("m" + i);
                    acked.incrementAndGet();
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        publisher.start();
        Await.until("some written", 10_000, () -> first.byId.size() > 50);
        broker.unbindSink("io.brokkr.connector.test~main", first); // bundle stopped / updated / uninstalled
        assertEquals("offline", info("io.brokkr.connector.test~main").state());
        int before = acked.get();
        Await.until("publishing goes on while the sink is offline", 10_000, () -> acked.get() > before + 200);
        assertTrue(info("io.brokkr.connector.test~main").pendingRecords() > 0);
        Store second = new Store(); // the new bundle's service: the same store behind it
        second.byId.putAll(first.byId);
        second.order.addAll(first.order);
        broker.bindSink("io.brokkr.connector.test~main", second, Map.of("topics", "d/#", "batch.size", "5"));
        Thread.sleep(100);
        run.set(false);
        publisher.join(30_000);
        assertFalse(publisher.isAlive());
        Await.until("every acknowledged message stored", 15_000, () -> second.byId.size() == sent.size());
        assertEquals(sent, second.payloads(), "every acknowledged message, once, in publish order");
    }

    @Test
    void aPausedSinkKeepsItsBacklogAndQos0IsSkippedOnlyAboveTheBacklogBound() throws Exception {
        start();
        Store store = new Store();
        broker.bindSink("small", store, Map.of("topics", "#", "max.backlog.bytes", "2000"));
        assertTrue(broker.setSinkRunning("small", false));
        assertEquals("stopped", info("small").state());
        int journalled = 0;
        int skipped = 0;
        try (RawClient c = RawClient.v5(TestBroker.port(broker), "pub")) {
            String big = "x".repeat(300);
            for (int i = 0; i < 12; i++) {
                // the QoS 1 fence of the previous step was acknowledged: everything before it is on disk
                boolean over = info("small").pendingBytes() > 2000;
                c.publish("q0/" + i, 0, false, 0, big.getBytes(StandardCharsets.UTF_8), null);
                c.publish1("q1/" + i, "k" + i, i + 1); // never skipped
                journalled++;
                if (over) {
                    skipped++;
                } else {
                    journalled++;
                }
                SinkInfo now = info("small");
                assertEquals(skipped, now.skipped(), "step " + i + ": QoS 0 skipped only above the bound: " + now);
                assertEquals(journalled, now.pendingRecords(), "step " + i + ": " + now);
            }
        }
        assertTrue(skipped > 0 && skipped < 12, "the bound was crossed during the test: " + skipped);
        assertEquals(0, store.byId.size(), "a stopped sink writes nothing");
        assertTrue(broker.setSinkRunning("small", true));
        int expected = journalled;
        Await.until("all written", 10_000, () -> store.byId.size() == expected);
        assertTrue(store.order.containsAll(range("k", 0, 12)), "every QoS 1 message");
        assertFalse(broker.setSinkRunning("nope", true));
    }

    @Test
    void acknowledgedMessagesSurviveABrokerRestartAndAStoppedSinkStaysStoppedUntilStarted() throws Exception {
        start();
        Store store = new Store();
        broker.bindSink("durable", store, Map.of("topics", "#"));
        broker.setSinkRunning("durable", false);
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "pub")) {
            for (int i = 0; i < 30; i++) {
                c.publish1("r/x", "m" + i, i + 1);
            }
        }
        broker.stop(); // the sink never wrote a thing
        broker = null;
        start();
        assertEquals("offline", info("durable").state(), "known from the journal before its service comes");
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "pub")) {
            for (int i = 30; i < 40; i++) {
                c.publish1("r/x", "m" + i, i + 1); // journalled for the offline sink
            }
        }
        Store again = new Store();
        broker.bindSink("durable", again, Map.of("topics", "#"));
        // mqtt:connector-stop before the restart holds after it (an operator's pause for a store's maintenance)
        assertEquals("stopped", info("durable").state());
        Thread.sleep(300);
        assertEquals(0, again.byId.size(), "a sink stopped before the restart writes nothing after it");
        assertTrue(broker.setSinkRunning("durable", true));
        Await.until("40 written after the restart", 10_000, () -> again.byId.size() == 40);
        assertEquals(range("m", 0, 40), again.payloads());

        // started again: after the next restart it runs at once
        broker.stop();
        broker = null;
        start();
        Store third = new Store();
        broker.bindSink("durable", third, Map.of("topics", "#"));
        assertEquals("running", info("durable").state());
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "pub")) {
            c.publish1("r/x", "m40", 1);
        }
        Await.until("the next message written", 10_000, () -> third.byId.size() == 1);
    }

    @Test
    void aNewSinkStartsAtTheEndAndARemovedSinkIsForgotten() throws Exception {
        start();
        Store a = new Store();
        broker.bindSink("a", a, Map.of("topics", "#"));
        try (RawClient c = RawClient.v5(TestBroker.port(broker), "pub")) {
            c.publish1("t", "before", 1);
            Store b = new Store();
            broker.bindSink("b", b, Map.of("topics", "#"));
            c.publish1("t", "after", 2);
            Await.until("b has after", 5000, () -> b.byId.size() == 1);
            assertEquals(List.of("after"), b.payloads());
            assertThrows(IllegalStateException.class, () -> broker.removeSink("b"), "still registered");
            broker.unbindSink("b", b);
            c.publish1("t", "gone", 3);
            Await.until("b has a backlog", 5000, () -> info("b").pendingRecords() == 1);
            assertTrue(broker.removeSink("b"));
            assertTrue(broker.sinks().stream().noneMatch(s -> s.name().equals("b")));
            assertFalse(broker.removeSink("b"));
        }
        Await.until("a has all three", 5000, () -> a.byId.size() == 3);
    }

    @Test
    void aSinkStartingFromAnotherTakesOverItsBacklogWithoutAGapOrACopy() throws Exception {
        start();
        Store old = new Store();
        broker.bindSink("old", old, Map.of("topics", "#"));
        List<String> sent = new ArrayList<>();
        try (RawClient c = RawClient.v5(TestBroker.port(broker), "pub")) {
            for (int i = 0; i < 10; i++) {
                c.publish1("t", "a" + i, i + 1);
                sent.add("a" + i);
            }
            Await.until("old wrote the first ten", 5000, () -> old.byId.size() == 10);
            broker.setSinkRunning("old", false); // stop the old one first: it falls behind
            for (int i = 0; i < 10; i++) {
                c.publish1("t", "b" + i, i + 11);
                sent.add("b" + i);
            }
            Await.until("old has a backlog", 5000, () -> info("old").pendingRecords() == 10);
            Store replacement = new Store();
            broker.bindSink("new", replacement, Map.of("topics", "#", "start.from", "old"));
            assertEquals(10, info("new").pendingRecords(), "starts at the old sink's position");
            broker.unbindSink("old", old);
            assertTrue(broker.removeSink("old"));
            for (int i = 0; i < 10; i++) {
                c.publish1("t", "c" + i, i + 21);
                sent.add("c" + i);
            }
            Await.until("new wrote the rest", 5000, () -> replacement.byId.size() == 20);
            List<String> all = new ArrayList<>(old.payloads());
            all.addAll(replacement.payloads());
            assertEquals(sent, all, "every message in one of the two stores, once, in order");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> broker.bindSink("newer", new Store(), Map.of("start.from", "nope")));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    @Test
    void aBadSinkPropertyIsRefusedWithItsName() {
        start();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> broker.bindSink("bad", new Store(), Map.of("topics", "a/#/b")));
        assertTrue(e.getMessage().contains("topics"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> broker.bindSink("bad", new Store(), Map.of("batch.size", "many")));
        assertTrue(e.getMessage().contains("batch.size"), e.getMessage());
    }

    @Test
    void aMessageTheJournalCannotTakeIsRefused() throws Exception {
        start();
        Store store = new Store();
        broker.bindSink("s", store, Map.of("topics", "#"));
        assertNotNull(broker.sinkHub().journal());
        broker.sinkHub().journal().close(); // as a full or failed disk would
        try (RawClient c = RawClient.v5(TestBroker.port(broker), "v5")) {
            c.publish("t", 1, false, 1, "x".getBytes(StandardCharsets.UTF_8), null);
            MqttMessage ack = c.expect(MqttMessageType.PUBACK);
            assertEquals(0x80, Packets.reasonCode(ack), "MQTT 5: Unspecified error");
        }
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "v3")) {
            c.publish("t", 1, false, 1, "x".getBytes(StandardCharsets.UTF_8), null);
            c.assertClosedWithoutPackets(); // 3.1.1 has no negative PUBACK: closed, so the client sends it again
        }
    }
}
