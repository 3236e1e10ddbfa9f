package io.brokkr.connector.redis;

import static io.brokkr.connector.redis.Records.TIME;
import static io.brokkr.connector.redis.Records.batch;
import static io.brokkr.connector.redis.Records.config;
import static io.brokkr.connector.redis.Records.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/** The connector against a real standalone redis-server on loopback: layouts, idempotency, order, options. */
class RedisSinkTest {

    @TempDir
    static Path tmp;
    static RedisServer server;
    static RedisClient redis;

    RedisSink sink;

    @BeforeAll
    static void startServer() throws Exception {
        RedisServer.assumeInstalled();
        server = new RedisServer(tmp.resolve("redis"), RedisServer.freePort(false)).start();
        redis = RedisClient.create("127.0.0.1", server.port);
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (redis != null) {
            redis.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    @BeforeEach
    void clean() {
        redis.flushAll();
        sink = new RedisSink();
    }

    @AfterEach
    void close() {
        sink.deactivate();
    }

    static void write(RedisSink sink, List<SinkRecord> batch) throws Exception {
        sink.write(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    void activate(Object... keyValues) {
        List<Object> kv = new ArrayList<>(List.of("host", "127.0.0.1", "port", server.port));
        kv.addAll(List.of(keyValues));
        sink.activate(config(kv.toArray()));
    }

    static Throwable failure(RedisSink sink, List<SinkRecord> batch) {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> sink.write(batch).toCompletableFuture().get(60, TimeUnit.SECONDS));
        return e.getCause();
    }

    // ---- stream ----

    @Test
    void streamEntryPerRecordWithIdFromTheSequenceAndTheRecordsFields() throws Exception {
        activate();
        MessageProperties props = new MessageProperties(1, 60L, "text/plain", "reply/to",
                "corr".getBytes(StandardCharsets.UTF_8), List.of(new UserProperty("k", "v")));
        write(sink, List.of(record(7, "a/b", "hello"),
                record(8, "a/c", "x".getBytes(StandardCharsets.UTF_8), props), record(9, "a/b", "again")));

        List<StreamEntry> ab = redis.xrange("mqtt:a/b", "-", "+");
        assertEquals(List.of(new StreamEntryID(7, 0), new StreamEntryID(9, 0)), ab.stream().map(StreamEntry::getID).toList());
        Map<String, String> f = ab.get(0).getFields();
        assertEquals("j1-7", f.get("id"));
        assertEquals("client-1", f.get("sender"));
        assertEquals("alice", f.get("user"));
        assertEquals("a/b", f.get("topic"));
        assertEquals("hello", f.get("payload"));
        assertEquals("1", f.get("qos"));
        assertEquals("false", f.get("retain"));
        assertEquals(Long.toString(TIME), f.get("time"));
        assertEquals("2026-11-29T23:59:01.123Z", f.get("datetime"));
        assertNull(f.get("properties"));

        Map<String, String> withProps = redis.xrange("mqtt:a/c", "-", "+").get(0).getFields();
        assertEquals("{\"payloadFormatIndicator\":1,\"messageExpiryInterval\":60,\"contentType\":\"text/plain\","
                + "\"responseTopic\":\"reply/to\",\"correlationData\":\"Y29ycg==\","
                + "\"userProperties\":[{\"name\":\"k\",\"value\":\"v\"}]}", withProps.get("properties"));
    }

    @Test
    void streamSequenceZeroGetsId0Dash1() throws Exception {
        activate();
        write(sink, List.of(record(0, "t", "zero"), record(1, "t", "one")));
        write(sink, List.of(record(0, "t", "zero"), record(1, "t", "one")));
        assertEquals(List.of(new StreamEntryID(0, 1), new StreamEntryID(1, 0)),
                redis.xrange("mqtt:t", "-", "+").stream().map(StreamEntry::getID).toList());
    }

    @Test
    void streamFormatJsonAndChosenFields() throws Exception {
        activate("format", "json", "fields", "id,topic,payload", "key.prefix", "s:");
        write(sink, List.of(record(1, "j", "{\"t\":21.5,\"ok\":true}"), record(2, "j", "not json")));
        List<StreamEntry> e = redis.xrange("s:j", "-", "+");
        assertEquals(Map.of("id", "j1-1", "topic", "j", "payload", "{\"t\":21.5,\"ok\":true}"), e.get(0).getFields());
        assertEquals(Map.of("id", "j1-2", "topic", "j", "payload", "not json", "payloadEncoding", "text"),
                e.get(1).getFields());
    }

    @Test
    void streamOverlappingBatchesWrittenTwiceLeaveOneEntryPerRecordInOrder() throws Exception {
        activate();
        assertOneCopyEach(this::streamSequences);
    }

    @Test
    void streamEntryMissingBelowTheTopFailsInsteadOfBeingSkipped() throws Exception {
        activate();
        write(sink, batch(10, 12, "t"));
        // sequence 5 was never written, but the stream is past it: e.g. records of a new journal
        Throwable t = failure(sink, List.of(record(5, "t", "late")));
        assertTrue(t.getMessage().contains("XADD mqtt:t 5-0 (record j1-5): the stream's top id is higher but the entry"
                + " is not there"), t.getMessage());
        // a different record at an existing id
        t = failure(sink, List.of(new SinkRecord("other-11", 11, record(11, "t", "x").message(), null)));
        assertTrue(t.getMessage().contains("the entry holds record j1-11, not other-11"), t.getMessage());
        assertEquals(3, redis.xlen("mqtt:t"));
    }

    // ---- list ----

    @Test
    void listPushesJsonPerRecordAndKeepsTheHighWaterMark() throws Exception {
        activate("layout", "list");
        write(sink, List.of(record(3, "a/b", "x"), record(4, "a/c", "y"), record(5, "a/b", "z")));
        List<String> ab = redis.lrange("mqtt:a/b", 0, -1);
        assertEquals(2, ab.size());
        assertEquals("{\"id\":\"j1-3\",\"sender\":\"client-1\",\"user\":\"alice\",\"topic\":\"a/b\",\"payload\":\"x\","
                + "\"qos\":1,\"retain\":false,\"time\":" + TIME + ",\"datetime\":\"2026-11-29T23:59:01.123Z\"}", ab.get(0));
        assertEquals("5", redis.get("mqtt:a/b:seq"));
        assertEquals("4", redis.get("mqtt:a/c:seq"));
    }

    @Test
    void listOverlappingBatchesWrittenTwiceLeaveOneElementPerRecordInOrder() throws Exception {
        activate("layout", "list");
        assertOneCopyEach(this::listSequences);
    }

    @Test
    void listJsonPayloadIsAnObject() throws Exception {
        activate("layout", "list", "format", "json", "fields", "payload");
        write(sink, List.of(record(1, "j", "{\"t\":1}")));
        assertEquals(List.of("{\"payload\":{\"t\":1}}"), redis.lrange("mqtt:j", 0, -1));
    }

    // ---- key ----

    @Test
    void keyPerMessageNamedClientIdUnixtimeSequence() throws Exception {
        activate("layout", "key", "format", "base64", "fields", "id,payload");
        write(sink, List.of(record(42, "a/b", "hi")));
        assertEquals("{\"id\":\"j1-42\",\"payload\":\"aGk=\"}", redis.get("mqtt:client-1_1795996741_42"));
        assertEquals(-1, redis.ttl("mqtt:client-1_1795996741_42"));
    }

    @Test
    void keyTtl() throws Exception {
        activate("layout", "key", "ttl.seconds", "600");
        write(sink, List.of(record(1, "a", "x")));
        long ttl = redis.ttl("mqtt:client-1_1795996741_1");
        assertTrue(ttl > 590 && ttl <= 600, "ttl " + ttl);
    }

    @Test
    void keyOverlappingBatchesWrittenTwiceLeaveOneKeyPerRecord() throws Exception {
        activate("layout", "key");
        assertOneCopyEach(this::keySequences);
    }

    // ---- batches, order ----

    @Test
    void aBatchOf1000RecordsInEveryLayoutKeepsOrderPerTopic() throws Exception {
        for (String layout : List.of("stream", "list", "key")) {
            redis.flushAll();
            sink.deactivate();
            sink = new RedisSink();
            activate("layout", layout);
            List<SinkRecord> batch = batch(1, 1000, "t/0", "t/1", "t/2");
            write(sink, batch);
            for (int t = 0; t < 3; t++) {
                List<Long> expected = new ArrayList<>();
                for (long s = 1; s <= 1000; s++) {
                    if (s % 3 == t) {
                        expected.add(s);
                    }
                }
                String topic = "t/" + t;
                List<Long> actual = switch (layout) {
                    case "stream" -> streamSequences(topic);
                    case "list" -> listSequences(topic);
                    default -> keySequences(topic);
                };
                assertEquals(expected, actual, layout + " " + topic);
            }
        }
    }

    /**
     * Batches 1-60 and 41-100 over 3 topics, each written twice, then 1-100 again: every record once, in sequence
     * order per topic.
     */
    void assertOneCopyEach(java.util.function.Function<String, List<Long>> sequencesOf) throws Exception {
        String[] topics = {"x/0", "x/1", "x/2"};
        for (int round = 0; round < 2; round++) {
            write(sink, batch(1, 60, topics));
            write(sink, batch(41, 100, topics));
        }
        write(sink, batch(1, 100, topics));
        for (int t = 0; t < 3; t++) {
            List<Long> expected = new ArrayList<>();
            for (long s = 1; s <= 100; s++) {
                if (s % 3 == t) {
                    expected.add(s);
                }
            }
            assertEquals(expected, sequencesOf.apply(topics[t]), topics[t]);
        }
    }

    List<Long> streamSequences(String topic) {
        return redis.xrange("mqtt:" + topic, "-", "+").stream()
                .map(e -> Long.parseLong(e.getFields().get("id").substring(3))).toList();
    }

    List<Long> listSequences(String topic) {
        return redis.lrange("mqtt:" + topic, 0, -1).stream()
                .map(json -> Long.parseLong(((String) ((Map<?, ?>) RecordFormat.parseJson(json)).get("id")).substring(3)))
                .toList();
    }

    /** The key layout has no order of its own: the sequences of the topic's keys, sorted. */
    List<Long> keySequences(String topic) {
        TreeSet<Long> seqs = new TreeSet<>();
        List<String> keys = new ArrayList<>(redis.keys("mqtt:*"));
        for (String k : keys) {
            Map<?, ?> rec = (Map<?, ?>) RecordFormat.parseJson(redis.get(k));
            if (topic.equals(rec.get("topic"))) {
                long seq = Long.parseLong(((String) rec.get("id")).substring(3));
                assertEquals("mqtt:client-1_1795996741_" + seq, k);
                assertTrue(seqs.add(seq), "two keys for " + seq);
            }
        }
        return new ArrayList<>(seqs);
    }

    // ---- configuration ----

    @Test
    void badConfigurationFailsWritesWithTheReason() throws Exception {
        activate("layout", "table");
        Throwable t = failure(sink, batch(1, 1, "t"));
        assertEquals("bad configuration: layout must be stream, list or key, was 'table'", t.getMessage());

        sink.modified(config("nodes", "127.0.0.1"));
        assertEquals("bad configuration: nodes: '127.0.0.1' is not host:port", failure(sink, batch(1, 1, "t")).getMessage());
        sink.modified(config("port", "six"));
        assertEquals("bad configuration: port must be a number, was 'six'", failure(sink, batch(1, 1, "t")).getMessage());
        sink.modified(config("format", "xml"));
        assertEquals("bad configuration: format must be text, json or base64, was 'xml'",
                failure(sink, batch(1, 1, "t")).getMessage());

        // fixed: written
        sink.modified(config("host", "127.0.0.1", "port", server.port));
        write(sink, batch(1, 1, "t"));
        assertEquals(1, redis.xlen("mqtt:t"));
    }

    @Test
    void modifiedAppliesLayoutAndPrefixWithoutReconnectingAndMovesToANewServer() throws Exception {
        activate();
        write(sink, batch(1, 3, "t"));
        String before = clientIds();
        sink.modified(config("host", "127.0.0.1", "port", server.port, "layout", "list", "key.prefix", "p:"));
        write(sink, batch(4, 6, "t"));
        assertEquals(3, redis.llen("p:t"));
        assertEquals(before, clientIds(), "the same connection");

        try (RedisServer other = new RedisServer(tmp.resolve("other"), RedisServer.freePort(false)).start();
             RedisClient otherRedis = RedisClient.create("127.0.0.1", other.port)) {
            sink.modified(config("host", "127.0.0.1", "port", other.port));
            waitFor(() -> clientIds().isEmpty(), "the old connection closed");
            write(sink, batch(7, 9, "t"));
            assertEquals(3, otherRedis.xlen("mqtt:t"));
            assertFalse(redis.exists("mqtt:t") && redis.xlen("mqtt:t") > 3);
        }
    }

    @Test
    void deactivateClosesTheConnectionsAndLaterWritesFail() throws Exception {
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        activate();
        write(sink, batch(1, 3, "t"));
        assertFalse(clientIds().isEmpty());
        sink.deactivate();
        waitFor(() -> clientIds().isEmpty(), "connections closed");
        waitFor(() -> before.containsAll(Thread.getAllStackTraces().keySet()), "no thread of the sink left");
        assertEquals("connector io.brokkr.connector.redis~test is closed", failure(sink, batch(4, 4, "t")).getMessage());
    }

    /** The ids of this sink's connections (CLIENT SETNAME brokkr:<name>), as CLIENT LIST shows them. */
    static String clientIds() {
        StringBuilder sb = new StringBuilder();
        for (String line : clientList(redis).split("\n")) {
            if (line.contains("name=brokkr:io.brokkr.connector.redis~test ")) {
                sb.append(line, line.indexOf("id="), line.indexOf(' ', line.indexOf("id="))).append(' ');
            }
        }
        return sb.toString();
    }

    static String clientList(RedisClient client) {
        return new String((byte[]) client.sendCommand(Protocol.Command.CLIENT, "LIST"), StandardCharsets.UTF_8);
    }

    static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    // ---- throughput ----

    /** Records/s for batches of 500 records with a 64-byte payload (stream layout), printed for the README. */
    @Test
    void throughputOf500RecordBatches() throws Exception {
        for (String layout : List.of("stream", "list", "key")) {
            redis.flushAll();
            sink.deactivate();
            sink = new RedisSink();
            activate("layout", layout);
            String payload = "x".repeat(64);
            long seq = 1;
            int batches = 40;
            long start = 0;
            for (int b = 0; b < batches + 10; b++) {
                if (b == 10) {
                    start = System.nanoTime();
                }
                List<SinkRecord> batch = new ArrayList<>(500);
                for (int i = 0; i < 500; i++, seq++) {
                    batch.add(record(seq, "perf/" + (i % 4), payload));
                }
                write(sink, batch);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            System.out.printf("redis %s: %d batches of 500 x 64 B in %.3f s = %.0f records/s%n", layout, batches, secs,
                    batches * 500 / secs);
        }
    }
}
