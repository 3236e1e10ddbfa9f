package io.brokkr.connector.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connector against a real Elasticsearch 8.19 node on free loopback ports, in its own JVM ({@link EsNodeProcess})
 * so that the last test can kill it and start a new one on the same port and data.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ElasticsearchSinkTest {

    @TempDir
    static Path home;
    static EsNodeProcess node;
    static EsHttp es;

    private static final AtomicLong SEQ = new AtomicLong();
    private final List<ElasticsearchSink> sinks = new ArrayList<>();

    @BeforeAll
    static void startNode() throws Exception {
        node = new EsNodeProcess(home);
        node.start();
        es = new EsHttp(node.url());
        es.awaitYellow();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @AfterEach
    void deactivateSinks() {
        sinks.forEach(ElasticsearchSink::deactivate);
    }

    // ---- helpers

    ElasticsearchSink sink(Map<String, Object> cfg) {
        ElasticsearchSink s = new ElasticsearchSink();
        Map<String, Object> props = new HashMap<>(cfg);
        props.putIfAbsent("service.pid", "io.brokkr.connector.elasticsearch~test");
        s.activate(props);
        sinks.add(s);
        return s;
    }

    static Map<String, Object> cfg(String index, Object... more) {
        Map<String, Object> m = new HashMap<>();
        m.put("url", node.url());
        m.put("index", index);
        for (int i = 0; i < more.length; i += 2) {
            m.put((String) more[i], more[i + 1]);
        }
        return m;
    }

    static SinkRecord record(String topic, String payload, long time) {
        return record(topic, payload.getBytes(StandardCharsets.UTF_8), time);
    }

    static SinkRecord record(String topic, byte[] payload, long time) {
        long seq = SEQ.incrementAndGet();
        return new SinkRecord("5f0c0ffee-" + seq, seq,
                new Message(topic, payload, 1, false, MessageProperties.NONE, "client-1", time), "alice");
    }

    static List<SinkRecord> batch(int n, String topic, long time) {
        List<SinkRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(record(topic, "m" + i, time + i));
        }
        return out;
    }

    static void write(ElasticsearchSink s, List<SinkRecord> batch) throws Exception {
        s.write(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    static Throwable writeFails(ElasticsearchSink s, List<SinkRecord> batch) {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> s.write(batch).toCompletableFuture().get(30, TimeUnit.SECONDS));
        return e.getCause();
    }

    static final long NOV_29 = Instant.parse("2026-11-29T23:59:59.500Z").toEpochMilli();
    static final long NOV_30 = Instant.parse("2026-11-30T00:00:00.250Z").toEpochMilli();

    // ---- tests

    @Test
    void indexNameComesFromTheMessageDateInUtc() throws Exception {
        ElasticsearchSink s = sink(cfg("date-%{yyyy.MM.dd}"));
        SinkRecord a = record("sensors/1", "before midnight", NOV_29);
        SinkRecord b = record("sensors/1", "after midnight", NOV_30);
        write(s, List.of(a, b));

        assertEquals(List.of("date-2026.11.29", "date-2026.11.30"), es.indices("date-*"));
        Map<String, Object> docA = es.source("date-2026.11.29", a.id());
        assertEquals("before midnight", docA.get("payload"));
        assertEquals("sensors/1", docA.get("topic"));
        assertEquals(a.id(), docA.get("id"));
        assertEquals("client-1", docA.get("sender"));
        assertEquals("alice", docA.get("user"));
        assertEquals(NOV_29, ((Number) docA.get("time")).longValue());
        assertEquals("2026-11-29T23:59:59.500Z", docA.get("datetime"));
        assertEquals("after midnight", es.source("date-2026.11.30", b.id()).get("payload"));
        // the connector's index template: both times are dates
        assertEquals("date", es.fieldType("date-2026.11.29", "datetime"));
        assertEquals("date", es.fieldType("date-2026.11.29", "time"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theIndexTemplateMapsNamesAsKeywordsAndTimesAsDates() throws Exception {
        ElasticsearchSink s = sink(cfg("tpl-%{yyyy.MM}"));
        MessageProperties props = new MessageProperties(null, null, "text/plain", "re/ply", null,
                List.of(new io.brokkr.api.UserProperty("site", "north wing")));
        SinkRecord r = new SinkRecord("5f0c0ffee-tpl", 1, new Message("sensors/room 1/t",
                "21.5 degrees".getBytes(StandardCharsets.UTF_8), 1, true, props, "client-1", NOV_29), "alice");
        write(s, List.of(r));

        Map<String, Object> t = (Map<String, Object>) ((List<Object>) es.call("GET", "/_index_template/brokkr-tpl",
                null).get("index_templates")).get(0);
        Map<String, Object> it = (Map<String, Object>) t.get("index_template");
        assertEquals(List.of("tpl-*"), it.get("index_patterns"));
        assertEquals(154, ((Number) it.get("priority")).intValue(), "150 + the length of 'tpl-'");
        String index = "tpl-2026.11";
        for (String f : List.of("id", "sender", "user", "topic", "payloadEncoding")) {
            assertEquals("keyword", es.fieldType(index, f), f);
        }
        assertEquals("text", es.fieldType(index, "payload"));
        assertEquals("date", es.fieldType(index, "time"));
        assertEquals("date", es.fieldType(index, "datetime"));
        assertEquals("byte", es.fieldType(index, "qos"));
        assertEquals("boolean", es.fieldType(index, "retain"));
        // the document as written: time stays the number of milliseconds in _source
        assertEquals(NOV_29, ((Number) es.source(index, r.id()).get("time")).longValue());
        // a whole topic, a user property and a time range as dates; a word of the payload
        assertEquals(1, es.count(index, "{\"bool\":{\"filter\":[{\"term\":{\"topic\":\"sensors/room 1/t\"}},"
                + "{\"term\":{\"properties.userProperties.value\":\"north wing\"}},"
                + "{\"term\":{\"properties.contentType\":\"text/plain\"}},"
                + "{\"range\":{\"time\":{\"gte\":\"2026-11-29T23:00:00Z\",\"lt\":\"2026-11-30\"}}},"
                + "{\"match\":{\"payload\":\"degrees\"}}]}}"));
        assertEquals(0, es.count(index, "{\"term\":{\"topic\":\"sensors\"}}"), "the topic is not split in words");
    }

    @Test
    void aBase64PayloadIsMappedAsBinaryAndTheMoreSpecificOfTwoOverlappingTemplatesWins() throws Exception {
        // tpl-bin matches tpl-* as well: both templates are installed, and the longer pattern's has the higher
        // priority (157 against 154), whichever connector came first
        ElasticsearchSink s = sink(cfg("tpl-bin", "format", "base64"));
        ElasticsearchSink t = sink(cfg("tpl-%{yyyy.MM}"));
        write(s, List.of(record("bin/t", new byte[] {1, 2, (byte) 0xff}, NOV_29)));
        write(t, List.of(record("bin/t", "x", NOV_29)));
        assertEquals("binary", es.fieldType("tpl-bin", "payload"));
        assertEquals("keyword", es.fieldType("tpl-bin", "topic"));
        es.call("GET", "/_index_template/brokkr-tpl-bin", null);
        es.call("GET", "/_index_template/brokkr-tpl", null);
    }

    @Test
    void anExistingTemplateOfThatNameIsLeftAsItIs() throws Exception {
        es.call("PUT", "/_index_template/brokkr-own", "{\"index_patterns\":[\"own\"],\"priority\":150,"
                + "\"template\":{\"mappings\":{\"properties\":{\"payload\":{\"type\":\"keyword\"}}}}}");
        ElasticsearchSink s = sink(cfg("own"));
        write(s, batch(2, "t", NOV_29));
        assertEquals("keyword", es.fieldType("own", "payload"), "the user's mapping");
        assertEquals("text", es.fieldType("own", "topic"), "dynamic, as the user's template says nothing of it");
    }

    @Test
    void withTemplateFalseTheMappingIsElasticsearchsDynamicOne() throws Exception {
        ElasticsearchSink s = sink(cfg("dyn", "template", "false"));
        write(s, batch(2, "t", NOV_29));
        assertThrows(AssertionError.class, () -> es.call("GET", "/_index_template/brokkr-dyn", null));
        assertEquals("text", es.fieldType("dyn", "topic"));
        assertEquals("long", es.fieldType("dyn", "time"));
    }

    @Test
    void aTemplateElasticsearchRefusesIsSkippedAndTheDocumentsAreWritten() throws Exception {
        // another template with the same priority (150 + the length of 'clash-') and an overlapping pattern:
        // Elasticsearch refuses ours
        es.call("PUT", "/_index_template/users-clash", "{\"index_patterns\":[\"clash-*\"],\"priority\":156}");
        ElasticsearchSink s = sink(cfg("clash-%{yyyy}", "template.name", "mine"));
        write(s, batch(3, "t", NOV_29));
        assertEquals(3, es.count("clash-2026"));
        assertThrows(AssertionError.class, () -> es.call("GET", "/_index_template/mine", null));
    }

    @Test
    void aBatchOverManyTopicsGoesAsParallelRequestsAndEveryDocumentIsWritten() throws Exception {
        ElasticsearchSink s = sink(cfg("parallel", "parallel.requests", "4"));
        List<SinkRecord> batch = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            batch.add(record("par/" + (i % 16), "m" + i, NOV_29 + i));
        }
        write(s, batch);
        write(s, batch); // again: one document per id
        assertEquals(2000, es.count("parallel"));
        assertEquals("m1999", es.source("parallel", batch.get(1999).id()).get("payload"));
    }

    @Test
    void aPatternWithoutDateIsOneFixedIndex() throws Exception {
        ElasticsearchSink s = sink(cfg("Fixed-Index"));
        write(s, List.of(record("t", "x", NOV_29), record("t", "y", NOV_30)));
        assertEquals(List.of("fixed-index"), es.indices("fixed-*"));
        assertEquals(2, es.count("fixed-index"));
    }

    @Test
    void theSameBatchTwiceLeavesOneDocumentPerIdWithCreate() throws Exception {
        ElasticsearchSink s = sink(cfg("idem-create"));
        List<SinkRecord> batch = batch(50, "a/b", NOV_29);
        write(s, batch);
        write(s, batch); // a retry after a lost acknowledgement: every item is a version conflict
        // and a batch where half was written before
        List<SinkRecord> mixed = new ArrayList<>(batch.subList(25, 50));
        mixed.addAll(batch(25, "a/b", NOV_29));
        write(s, mixed);
        assertEquals(75, es.count("idem-create"));
        assertEquals(1, ((Number) es.doc("idem-create", batch.get(0).id()).get("_version")).intValue());
    }

    @Test
    void theSameBatchTwiceLeavesOneDocumentPerIdWithIndex() throws Exception {
        ElasticsearchSink s = sink(cfg("idem-index", "op", "index"));
        List<SinkRecord> batch = batch(50, "a/b", NOV_29);
        write(s, batch);
        write(s, batch);
        assertEquals(50, es.count("idem-index"));
        Map<String, Object> d = es.doc("idem-index", batch.get(7).id());
        assertEquals(2, ((Number) d.get("_version")).intValue()); // overwritten once, with the same content
        assertEquals("m7", ((Map<?, ?>) d.get("_source")).get("payload"));
    }

    @Test
    void aThousandRecordsInOneBulk() throws Exception {
        ElasticsearchSink s = sink(cfg("thousand"));
        List<SinkRecord> batch = batch(1000, "bulk/t", NOV_29);
        write(s, batch);
        assertEquals(1000, es.count("thousand"));
        assertEquals("m999", es.source("thousand", batch.get(999).id()).get("payload"));
    }

    /** Measures bulks of 500 records with 64-byte payloads (the figure in README.md). */
    @Test
    void throughputOfBulksOf500() throws Exception {
        ElasticsearchSink s = sink(cfg("throughput"));
        String payload = "x".repeat(64);
        int bulks = 20;
        List<List<SinkRecord>> batches = new ArrayList<>();
        for (int b = 0; b < bulks; b++) {
            List<SinkRecord> batch = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                batch.add(record("load/" + (i % 10), payload, NOV_29 + i));
            }
            batches.add(batch);
        }
        write(s, batches.get(0)); // warm-up: index creation, connections
        long t0 = System.nanoTime();
        for (List<SinkRecord> batch : batches.subList(1, bulks)) {
            write(s, batch);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("elasticsearch: %d bulks of 500 x 64-byte records: %.0f records/s (%.1f ms per bulk)%n",
                bulks - 1, (bulks - 1) * 500 / seconds, seconds * 1000 / (bulks - 1));
        assertEquals(bulks * 500L, es.count("throughput"));
    }

    @Test
    void jsonPayloadIsIndexedAsAnObject() throws Exception {
        ElasticsearchSink s = sink(cfg("fmt-json", "format", "json"));
        SinkRecord r = record("sensors/t", "{\"temp\":21.5,\"unit\":\"C\"}", NOV_29);
        SinkRecord notJson = record("sensors/t", "not json", NOV_29);
        write(s, List.of(r));
        Map<?, ?> payload = (Map<?, ?>) es.source("fmt-json", r.id()).get("payload");
        assertEquals(21.5, ((Number) payload.get("temp")).doubleValue());
        assertEquals("C", payload.get("unit"));
        // the object's fields are searchable
        es.count("fmt-json");
        Map<String, Object> hits = es.call("POST", "/fmt-json/_count",
                "{\"query\":{\"range\":{\"payload.temp\":{\"gt\":20}}}}");
        assertEquals(1, ((Number) hits.get("count")).intValue());
        // a payload that is not JSON is written as text and says so: it would not fit the object mapping, so it
        // went to another index here
        ElasticsearchSink t = sink(cfg("fmt-json-text", "format", "json"));
        write(t, List.of(notJson));
        Map<String, Object> d = es.source("fmt-json-text", notJson.id());
        assertEquals("not json", d.get("payload"));
        assertEquals("text", d.get("payloadEncoding"));
    }

    @Test
    void base64PayloadAndSelectedFields() throws Exception {
        ElasticsearchSink s = sink(cfg("fmt-b64", "format", "base64", "fields", "topic,payload,datetime"));
        byte[] bytes = {0, 1, 2, (byte) 0xff, (byte) 0xfe};
        SinkRecord r = record("bin/t", bytes, NOV_29);
        write(s, List.of(r));
        Map<String, Object> d = es.source("fmt-b64", r.id());
        assertEquals(Map.of("topic", "bin/t", "payload", Base64.getEncoder().encodeToString(bytes),
                "datetime", "2026-11-29T23:59:59.500Z"), d);
    }

    @Test
    void aRejectedDocumentFailsTheStageWithTheFirstReason() throws Exception {
        es.call("PUT", "/rejects", "{\"mappings\":{\"properties\":{\"payload\":{\"type\":\"long\"}}}}");
        ElasticsearchSink s = sink(cfg("rejects"));
        SinkRecord ok = record("t", "42", NOV_29);
        SinkRecord bad = record("t", "not a number", NOV_29);
        Throwable t = writeFails(s, List.of(ok, bad));
        String m = t.getMessage();
        assertTrue(m.contains("connector test: Elasticsearch " + node.url()), m);
        assertTrue(m.contains("1 of 2 documents rejected"), m);
        assertTrue(m.contains("_id " + bad.id()), m);
        assertTrue(m.contains("document_parsing_exception") || m.contains("mapper_parsing_exception"), m);
        assertTrue(m.contains("payload"), m);
    }

    @Test
    void reconfigurationAppliesToTheNextBatch() throws Exception {
        Map<String, Object> c = cfg("reconf-a");
        ElasticsearchSink s = sink(c);
        write(s, batch(3, "t", NOV_29));
        // index and op change: same client
        c.put("index", "reconf-b");
        c.put("op", "index");
        s.modified(c);
        write(s, batch(4, "t", NOV_29));
        // a bad value: the next write fails with it, a fix makes it work again
        c.put("url", "localhost:9200");
        s.modified(c);
        Throwable t = writeFails(s, batch(1, "t", NOV_29));
        assertTrue(t.getMessage().contains("must start with http://"), t.getMessage());
        c.put("url", node.url() + ", " + node.url().replace("127.0.0.1", "localhost"));
        c.put("socket.timeout.ms", "20000");
        s.modified(c);
        write(s, batch(5, "t", NOV_29));
        assertEquals(3, es.count("reconf-a"));
        assertEquals(9, es.count("reconf-b"));
    }

    @Test
    void badConfigurationDoesNotThrowButFailsEveryWrite() {
        for (Map.Entry<String, String> bad : Map.of(
                "url", "not a url",
                "index", "mqtt-%{yyyy",
                "op", "upsert",
                "format", "xml",
                "connect.timeout.ms", "soon",
                "template", "maybe",
                "template.name", "Mine",
                "parallel.requests", "9").entrySet()) {
            Map<String, Object> c = cfg("bad");
            c.put(bad.getKey(), bad.getValue());
            ElasticsearchSink s = sink(c); // activation does not throw
            Throwable t = writeFails(s, batch(1, "t", NOV_29));
            assertTrue(t.getMessage().startsWith("connector test: "), t.getMessage());
            assertTrue(t.getMessage().contains(bad.getKey().equals("url") ? "url" : bad.getKey()), t.getMessage());
        }
        Map<String, Object> c = cfg("Bad|Index");
        Throwable t = writeFails(sink(c), batch(1, "t", NOV_29));
        assertTrue(t.getMessage().contains("must not contain '|'"), t.getMessage());
    }

    @Test
    void deactivateClosesTheClient() throws Exception {
        long before = ioThreads();
        ElasticsearchSink s = sink(cfg("closing"));
        write(s, batch(2, "t", NOV_29));
        assertTrue(ioThreads() > before, "the client runs its I/O threads");
        s.deactivate();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ioThreads() > before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(before, ioThreads(), "no I/O thread left after deactivate");
        Throwable t = writeFails(s, batch(1, "t", NOV_29));
        assertEquals("connector test is closed", t.getMessage());
    }

    /** Runs last: kills the node, then starts a new one on the same port and data directory. */
    @Test
    @Order(Integer.MAX_VALUE)
    void serverKilledFailsWithinTheTimeoutThenTheSameBatchSucceeds() throws Exception {
        ElasticsearchSink s = sink(cfg("restart-%{yyyy}", "connect.timeout.ms", "2000", "socket.timeout.ms", "5000"));
        write(s, batch(10, "r/t", NOV_29));
        assertEquals(10, es.count("restart-2026"));

        List<SinkRecord> batch = batch(20, "r/t", NOV_29);
        node.kill();
        long t0 = System.nanoTime();
        Throwable down = writeFails(s, batch);
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "failed within 10 s");
        assertTrue(down.getMessage().startsWith("connector test: Elasticsearch " + node.url() + " is not reachable"),
                down.getMessage());

        node.start();
        write(s, batch);
        write(s, batch);
        assertEquals(30, es.count("restart-2026"));
    }

    static long ioThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(th -> th.isAlive() && th.getName().startsWith("elasticsearch-rest-client-")).count();
    }
}
