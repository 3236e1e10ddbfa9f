package io.brokkr.connector.mongodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.bson.Document;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The MongoDB sink against a MongoDB wire-protocol server on loopback ({@link MongoTestServer}), driven through its
 * DS lifecycle methods as SCR would call them, read back with a second client of the real driver.
 */
class MongoSinkTest {

    private static final long T0 = 1_795_000_000_000L;

    private MongoTestServer server;
    private MongoClient reader;
    private final List<MongoSink> sinks = new ArrayList<>();

    @BeforeEach
    void start() {
        server = new MongoTestServer();
        reader = MongoClients.create(server.uri());
    }

    @AfterEach
    void stop() {
        sinks.forEach(MongoSink::deactivate);
        reader.close();
        server.close();
    }

    private Map<String, Object> config(String... keyValues) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("service.pid", "io.brokkr.connector.mongodb~test");
        cfg.put("uri", server.uri());
        for (int i = 0; i < keyValues.length; i += 2) {
            if (keyValues[i + 1] == null) {
                cfg.remove(keyValues[i]);
            } else {
                cfg.put(keyValues[i], keyValues[i + 1]);
            }
        }
        return cfg;
    }

    private MongoSink sink(String... keyValues) {
        MongoSink sink = new MongoSink();
        sink.activate(config(keyValues));
        sinks.add(sink);
        return sink;
    }

    private MongoCollection<Document> collection() {
        return collection("brokkr", "messages");
    }

    private MongoCollection<Document> collection(String db, String coll) {
        return reader.getDatabase(db).getCollection(coll);
    }

    static SinkRecord record(long seq, String topic, String payload) {
        return record(seq, topic, payload.getBytes(StandardCharsets.UTF_8));
    }

    static SinkRecord record(long seq, String topic, byte[] payload) {
        return new SinkRecord("j1-" + seq, seq,
                new Message(topic, payload, 1, false, MessageProperties.NONE, "client-" + seq, T0 + seq), "alice");
    }

    static List<SinkRecord> batch(int from, int count) {
        List<SinkRecord> b = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            b.add(record(i, "t/" + (i % 3), "m" + i));
        }
        return b;
    }

    /** Waits for the stage (bounded, so a hanging write fails the test) and returns its failure, or null. */
    static Throwable outcome(CompletionStage<Void> stage) {
        try {
            stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException | CompletionException e) {
            return e.getCause();
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("write did not complete within 30 s", e);
        }
    }

    static void written(CompletionStage<Void> stage) {
        Throwable t = outcome(stage);
        if (t != null) {
            throw new AssertionError("write failed: " + t, t);
        }
    }

    static String failure(CompletionStage<Void> stage) {
        Throwable t = outcome(stage);
        if (t == null) {
            fail("write succeeded but should have failed");
        }
        return t.getMessage();
    }

    @Test
    void aRecordBecomesADocumentWithEveryField() {
        MongoSink sink = sink();
        MessageProperties props = new MessageProperties(1, 60L, "application/json", "reply/here",
                new byte[] {1, 2, 3}, List.of(new UserProperty("k", "v1"), new UserProperty("k", "v2")));
        SinkRecord r = new SinkRecord("j1-7", 7, new Message("a/b", "héllo".getBytes(StandardCharsets.UTF_8), 2,
                true, props, "pub-1", T0), "alice");
        written(sink.write(List.of(r)));

        Document d = collection().find().first();
        assertEquals(List.of("_id", "sender", "user", "topic", "payload", "qos", "retain", "properties", "time",
                "datetime"), new ArrayList<>(d.keySet()));
        assertEquals("j1-7", d.get("_id"));
        assertEquals("pub-1", d.get("sender"));
        assertEquals("alice", d.get("user"));
        assertEquals("a/b", d.get("topic"));
        assertEquals("héllo", d.get("payload"));
        assertEquals(2, d.get("qos"));
        assertEquals(true, d.get("retain"));
        assertEquals(T0, d.get("time")); // an int64
        assertEquals(new Date(T0), d.get("datetime")); // a BSON date
        Document p = d.get("properties", Document.class);
        assertEquals(1, p.get("payloadFormatIndicator"));
        assertEquals(60L, p.get("messageExpiryInterval"));
        assertEquals("application/json", p.get("contentType"));
        assertEquals("reply/here", p.get("responseTopic"));
        assertEquals("AQID", p.get("correlationData"));
        assertEquals(List.of(new Document("name", "k").append("value", "v1"),
                new Document("name", "k").append("value", "v2")), p.getList("userProperties", Document.class));
    }

    @Test
    void absentValuesAreLeftOut() {
        MongoSink sink = sink();
        SinkRecord r = new SinkRecord("j1-1", 1, Message.of("sys/x", new byte[0], 0, false), null);
        written(sink.write(List.of(r)));
        Document d = collection().find().first();
        assertEquals(List.of("_id", "topic", "payload", "qos", "retain", "time", "datetime"),
                new ArrayList<>(d.keySet()));
        assertEquals("", d.get("payload"));
    }

    @Test
    void theSameBatchWrittenTwiceLeavesOneDocumentPerId() {
        MongoSink sink = sink();
        List<SinkRecord> b = batch(0, 50);
        written(sink.write(b));
        written(sink.write(b));
        assertEquals(50, collection().countDocuments());

        // a retried batch that overlaps: the known half is skipped, the new half is inserted, the stage succeeds
        written(sink.write(batch(25, 50)));
        assertEquals(75, collection().countDocuments());
        for (int i = 0; i < 75; i++) {
            assertEquals(1, collection().countDocuments(new Document("_id", "j1-" + i)), "j1-" + i);
        }
    }

    @Test
    void aDuplicateOnAnotherUniqueIndexFailsTheStage() {
        collection().createIndex(Indexes.ascending("topic"), new IndexOptions().unique(true));
        MongoSink sink = sink();
        written(sink.write(List.of(record(1, "a", "x"))));
        String why = failure(sink.write(List.of(record(2, "a", "y"), record(3, "b", "z"))));
        assertTrue(why.contains("duplicate key on a unique index other than _id"), why);
        assertTrue(why.contains("insert into brokkr.messages at 127.0.0.1:" + server.port()), why);
        // the other document of the batch was inserted (unordered); a retry after the index is fixed writes the rest
        assertEquals(2, collection().countDocuments());
    }

    @Test
    void aRejectedDocumentFailsTheStageWithTheServersReason() {
        MongoSink sink = sink();
        // larger than MongoDB's 16 MiB document limit
        byte[] big = new byte[17 * 1024 * 1024];
        Arrays.fill(big, (byte) 'a');
        String why = failure(sink.write(List.of(record(1, "a", big))));
        assertTrue(why.startsWith("insert into brokkr.messages at 127.0.0.1:" + server.port() + " failed: "), why);
        assertTrue(why.toLowerCase().contains("size"), why);
        assertEquals(0, collection().countDocuments());
    }

    @Test
    void timeFollowsTheRecordOrderPerTopic() {
        MongoSink sink = sink();
        List<SinkRecord> b = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            b.add(record(i, "t/" + (i % 4), "m" + i));
        }
        written(sink.write(b));
        for (int t = 0; t < 4; t++) {
            List<String> payloads = new ArrayList<>();
            collection().find(new Document("topic", "t/" + t)).sort(Sorts.ascending("time"))
                    .forEach(d -> payloads.add(d.getString("payload")));
            List<String> expected = new ArrayList<>();
            for (int i = t; i < 300; i += 4) {
                expected.add("m" + i);
            }
            assertEquals(expected, payloads, "topic t/" + t);
        }
    }

    @Test
    void aBatchOfAThousandRecords() {
        MongoSink sink = sink();
        List<SinkRecord> b = batch(0, 1000);
        written(sink.write(b));
        assertEquals(1000, collection().countDocuments());
        assertEquals(334, collection().countDocuments(new Document("topic", "t/0")));
        Document last = collection().find(new Document("_id", "j1-999")).first();
        assertEquals("m999", last.get("payload"));
        assertEquals(T0 + 999, last.get("time"));
        written(sink.write(b));
        assertEquals(1000, collection().countDocuments());
    }

    @Test
    void aStoppedServerFailsTheWriteWithinTheTimeoutAndANewServerOnThePortTakesTheSameBatch() {
        MongoSink sink = sink();
        written(sink.write(batch(0, 10)));
        server.stop();

        List<SinkRecord> b = batch(10, 10);
        // the first write may still hold a pooled connection (it fails on the socket), later ones wait for a server
        for (int attempt = 0; attempt < 2; attempt++) {
            long t0 = System.nanoTime();
            String why = failure(sink.write(b));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 10_000, "failed after " + ms + " ms: " + why);
            assertTrue(why.startsWith("insert into brokkr.messages at 127.0.0.1:" + server.port() + " failed: "), why);
        }
        long t0 = System.nanoTime();
        String why = failure(sink.write(b));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(why.contains("no usable server within 5000 ms (server.selection.timeout.ms)"), why);
        assertTrue(why.contains("127.0.0.1:" + server.port()), why);
        assertTrue(ms >= 4_000 && ms < 10_000, "failed after " + ms + " ms: " + why);

        server.start(); // a new, empty server on the same port
        written(sink.write(b));
        reader.close();
        reader = MongoClients.create(server.uri());
        assertEquals(10, collection().countDocuments());
        assertEquals(1, collection().countDocuments(new Document("_id", "j1-19")));
    }

    @Test
    void aShortServerSelectionTimeoutFailsSooner() {
        MongoSink sink = sink("server.selection.timeout.ms", "1000");
        server.stop();
        long t0 = System.nanoTime();
        String why = failure(sink.write(batch(0, 1)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        // the driver reports whichever it sees first: no server selectable in time, or the refused connection
        assertTrue(why.contains("no usable server within 1000 ms") || why.contains("Connection refused"), why);
        assertTrue(ms < 4_000, "failed after " + ms + " ms: " + why);
    }

    @Test
    void jsonFormatWritesTheParsedPayload() {
        MongoSink sink = sink("format", "json");
        written(sink.write(List.of(
                record(1, "j", "{\"temp\": 21.5, \"ok\": true, \"tags\": [\"a\", 2], \"in\": {\"n\": 12345678901}}"),
                record(2, "j", "[1, 2, 3]"),
                record(3, "j", "42"),
                record(4, "j", "not json"),
                record(5, "j", new byte[] {(byte) 0xff, 0}))));
        Document d1 = collection().find(new Document("_id", "j1-1")).first();
        Document p = d1.get("payload", Document.class);
        assertEquals(21.5, p.get("temp"));
        assertEquals(true, p.get("ok"));
        assertEquals(List.of("a", 2L), p.get("tags"));
        assertEquals(12345678901L, p.get("in", Document.class).get("n"));
        assertNull(d1.get("payloadEncoding"));
        // a field of the payload can be queried
        assertEquals(1, collection().countDocuments(new Document("payload.temp", new Document("$gt", 20))));
        assertEquals(List.of(1L, 2L, 3L), collection().find(new Document("_id", "j1-2")).first().get("payload"));
        assertEquals(42L, collection().find(new Document("_id", "j1-3")).first().get("payload"));
        Document d4 = collection().find(new Document("_id", "j1-4")).first();
        assertEquals("not json", d4.get("payload"));
        assertEquals("text", d4.get("payloadEncoding"));
        Document d5 = collection().find(new Document("_id", "j1-5")).first();
        assertEquals("/wA=", d5.get("payload"));
        assertEquals("base64", d5.get("payloadEncoding"));
    }

    @Test
    void base64FormatWritesBase64() {
        MongoSink sink = sink("format", "base64");
        byte[] bytes = {0, 1, (byte) 0xfe, 'a'};
        written(sink.write(List.of(record(1, "b", bytes), record(2, "b", "text"))));
        Document d1 = collection().find(new Document("_id", "j1-1")).first();
        assertEquals(Base64.getEncoder().encodeToString(bytes), d1.get("payload"));
        assertNull(d1.get("payloadEncoding"));
        assertEquals("dGV4dA==", collection().find(new Document("_id", "j1-2")).first().get("payload"));
    }

    @Test
    void textFormatFallsBackToBase64ForBytesThatAreNotUtf8() {
        MongoSink sink = sink();
        written(sink.write(List.of(record(1, "b", new byte[] {(byte) 0xc3, 0x28}))));
        Document d = collection().find().first();
        assertEquals("wyg=", d.get("payload"));
        assertEquals("base64", d.get("payloadEncoding"));
    }

    @Test
    void fieldsSelectWhatIsWrittenAndIdIsAlwaysThere() {
        MongoSink sink = sink("fields", "topic, payload,datetime");
        written(sink.write(List.of(record(1, "f", "x"))));
        Document d = collection().find().first();
        assertEquals(List.of("_id", "topic", "payload", "datetime"), new ArrayList<>(d.keySet()));
        assertEquals("j1-1", d.get("_id"));
        assertInstanceOf(Date.class, d.get("datetime"));
    }

    @Test
    void databaseAndCollectionAreConfigurable() {
        MongoSink sink = sink("database", "iot", "collection", "readings");
        written(sink.write(batch(0, 3)));
        assertEquals(3, collection("iot", "readings").countDocuments());
        assertEquals(0, collection().countDocuments());
    }

    @Test
    void hostAndPortAreUsedWithoutUri() {
        MongoSink sink = sink("uri", null, "host", "127.0.0.1", "port", String.valueOf(server.port()));
        written(sink.write(batch(0, 2)));
        assertEquals(2, collection().countDocuments());
    }

    @Test
    void aBadUriIsAClearErrorOfEveryWriteNotOfTheActivation() {
        MongoSink sink = sink("uri", "mongodb//127.0.0.1:" + server.port());
        String why = failure(sink.write(batch(0, 1)));
        assertTrue(why.startsWith("uri: not a valid MongoDB connection string"), why);
        assertEquals(why, failure(sink.write(batch(0, 1))));

        MongoSink badPort = sink("uri", "mongodb://127.0.0.1:notaport");
        assertTrue(failure(badPort.write(batch(0, 1))).startsWith("uri: not a valid MongoDB connection string"));
    }

    @Test
    void badValuesAreClearErrors() {
        assertEquals("format must be text, json or base64, was 'xml'",
                failure(sink("format", "xml").write(batch(0, 1))));
        assertTrue(failure(sink("fields", "topic,body").write(batch(0, 1)))
                .startsWith("fields: unknown field 'body'"));
        assertEquals("port: 'abc' is not a number",
                failure(sink("uri", null, "port", "abc").write(batch(0, 1))));
        assertEquals("socket.timeout.ms: must be at least 1 ms, was 0",
                failure(sink("socket.timeout.ms", "0").write(batch(0, 1))));
        assertTrue(failure(sink("collection", "a$b").write(batch(0, 1)))
                .startsWith("collection: 'a$b' is not a valid collection name"));
        assertTrue(failure(sink("collection", "system.users").write(batch(0, 1)))
                .startsWith("collection: 'system.users' is not a valid collection name"));
        assertTrue(failure(sink("database", "a b").write(batch(0, 1)))
                .startsWith("database: 'a b' is not a valid database name"));
        assertTrue(failure(sink("uri", server.uri() + "/?w=0").write(batch(0, 1)))
                .startsWith("uri: w=0 (unacknowledged writes) is not supported"));
        assertEquals(0, collection().countDocuments());
    }

    @Test
    void credentialsTheServerDoesNotAcceptFailTheWriteClearly() {
        // the test server implements no authentication: the driver's SCRAM conversation fails as it does against a
        // real server that does not know the user
        MongoSink sink = sink("user", "brokkr", "password", "wrong", "server.selection.timeout.ms", "2000");
        long t0 = System.nanoTime();
        String why = failure(sink.write(batch(0, 1)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(why.startsWith("insert into brokkr.messages at 127.0.0.1:" + server.port() + " failed: "), why);
        assertTrue(why.contains("authentication failed for user 'brokkr' (auth.source admin)"), why);
        assertFalse(why.contains("wrong"), "the password is not in the message: " + why);
        assertTrue(ms < 10_000, "failed after " + ms + " ms");
        assertEquals(0, collection().countDocuments());
    }

    @Test
    void modifiedAppliesANewCollectionAndFormatWithTheSameClient() {
        MongoSink sink = sink();
        written(sink.write(List.of(record(1, "m", "{\"a\":1}"))));
        Object clientBefore = sink.client();
        sink.modified(config("collection", "other", "format", "json"));
        assertTrue(clientBefore == sink.client(), "the client was kept");
        written(sink.write(List.of(record(2, "m", "{\"a\":2}"))));
        assertEquals(1, collection().countDocuments());
        Document d = collection("brokkr", "other").find().first();
        assertEquals("j1-2", d.get("_id"));
        assertEquals(new Document("a", 2L), d.get("payload"));
    }

    @Test
    void modifiedWithAnotherServerReplacesTheClient() {
        try (MongoTestServer second = new MongoTestServer(); MongoClient secondReader = MongoClients.create(second.uri())) {
            MongoSink sink = sink();
            written(sink.write(batch(0, 2)));
            Object clientBefore = sink.client();
            sink.modified(config("uri", second.uri()));
            assertFalse(clientBefore == sink.client(), "a new client");
            written(sink.write(batch(2, 3)));
            assertEquals(2, collection().countDocuments());
            assertEquals(3, secondReader.getDatabase("brokkr").getCollection("messages").countDocuments());
        }
    }

    @Test
    void modifiedFromABadToAGoodConfigurationRecovers() {
        MongoSink sink = sink();
        sink.modified(config("uri", "http://127.0.0.1"));
        assertTrue(failure(sink.write(batch(0, 1))).startsWith("uri: not a valid MongoDB connection string"));
        assertNull(sink.client(), "the old client was closed and dropped");
        sink.modified(config());
        written(sink.write(batch(0, 1)));
        assertEquals(1, collection().countDocuments());
    }

    @Test
    void deactivateClosesTheClientAndItsThreads() throws InterruptedException {
        collection().countDocuments(); // the reader's own client has all its threads now
        Set<Thread> before = driverThreads();
        MongoSink sink = new MongoSink();
        sink.activate(config());
        written(sink.write(batch(0, 5)));
        Set<Thread> sinkThreads = driverThreads();
        sinkThreads.removeAll(before);
        assertFalse(sinkThreads.isEmpty(), "the sink's client runs its own threads");
        sink.deactivate();
        long deadline = System.currentTimeMillis() + 10_000;
        while (sinkThreads.stream().anyMatch(Thread::isAlive) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(List.of(), sinkThreads.stream().filter(Thread::isAlive).map(Thread::getName).toList(),
                "threads of the sink's client left after deactivate");
        assertNull(sink.client());
        assertEquals("connector io.brokkr.connector.mongodb~test is stopped", failure(sink.write(batch(5, 1))));
    }

    @Test
    void deactivateDuringAWriteEndsTheWriteAtOnce() throws Exception {
        MongoSink sink = sink();
        written(sink.write(batch(0, 1)));
        server.stop();
        written(sink.write(batch(0, 0))); // an empty batch needs no server
        sink.write(batch(0, 1)); // the pooled connection's failure; the next write waits for a server
        AtomicReference<Thread> writer = new AtomicReference<>();
        CompletableFuture<String> pending = CompletableFuture.supplyAsync(() -> {
            writer.set(Thread.currentThread());
            return failure(sink.write(batch(1, 1)));
        });
        // wait until the write is inside the driver, waiting for a server (for up to 5 s)
        long deadline = System.currentTimeMillis() + 4_000;
        while (!waitsForAServer(writer.get())) {
            assertTrue(System.currentTimeMillis() < deadline, "the write did not start waiting for a server");
            Thread.sleep(10);
        }
        long t0 = System.nanoTime();
        sink.deactivate();
        String why = pending.get(30, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(why.contains("the connector was reconfigured or stopped during the write"), why);
        assertTrue(ms < 2_000, "the write ended " + ms + " ms after deactivate: " + why);
    }

    private static boolean waitsForAServer(Thread t) {
        return t != null && Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getMethodName().equals("selectServer"));
    }

    /** Threads of the MongoDB driver (server monitors, round-trip-time monitors, the pools' maintenance timers). */
    private static Set<Thread> driverThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> t.getName().startsWith("cluster-") || t.getName().contains("MaintenanceTimer"))
                .collect(Collectors.toCollection(HashSet::new));
    }
}
