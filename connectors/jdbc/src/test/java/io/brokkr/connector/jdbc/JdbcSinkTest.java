package io.brokkr.connector.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The JDBC connector against a real PostgreSQL: what lands in the table, idempotency, order, batches, config. */
class JdbcSinkTest extends JdbcSinkTestSupport {

    private static final String SELECT = "SELECT id, sequence, sender, username, topic, payload::text, "
            + "payload_encoding, qos, retain, properties::text, time, datetime FROM ";

    @Test
    void textFormatWritesEveryColumnAndCreatesTheTable() throws Exception {
        JdbcSink sink = sink(config("text", "table", "t_text"));
        MessageProperties props = new MessageProperties(1, 60L, "text/plain", "reply/to", new byte[] {1, 2, 3},
                List.of(new UserProperty("site", "north"), new UserProperty("site", "south")));
        SinkRecord full = new SinkRecord("j-1", 1, new Message("plant/1/temp", "21.5 °C".getBytes(StandardCharsets.UTF_8),
                2, true, props, "sensor-7", T0), "alice");
        SinkRecord bare = new SinkRecord("j-2", 2, new Message("$SYS/x", "up".getBytes(StandardCharsets.UTF_8), 0,
                false, MessageProperties.NONE, null, T0 + 1), null);
        write(sink, List.of(full, bare));

        List<List<Object>> rows = query(SELECT + "t_text ORDER BY sequence");
        assertEquals(2, rows.size());
        List<Object> r = rows.get(0);
        assertEquals(List.of("j-1", 1L, "sensor-7", "alice", "plant/1/temp", "21.5 °C"), r.subList(0, 6));
        assertNull(r.get(6), "payload_encoding");
        assertEquals(2, ((Number) r.get(7)).intValue());
        assertEquals(true, r.get(8));
        assertEquals(RecordFormat.parseJson("{\"payloadFormatIndicator\":1,\"messageExpiryInterval\":60,"
                + "\"contentType\":\"text/plain\",\"responseTopic\":\"reply/to\",\"correlationData\":\"AQID\","
                + "\"userProperties\":[{\"name\":\"site\",\"value\":\"north\"},{\"name\":\"site\",\"value\":\"south\"}]}"),
                RecordFormat.parseJson((String) r.get(9)));
        assertEquals(T0, r.get(10));
        assertEquals(Instant.ofEpochMilli(T0), ((Timestamp) r.get(11)).toInstant());

        List<Object> b = rows.get(1);
        assertEquals(Arrays.asList("j-2", 2L, null, null, "$SYS/x", "up", null), b.subList(0, 7));
        assertEquals(0, ((Number) b.get(7)).intValue());
        assertEquals(false, b.get(8));
        assertNull(b.get(9), "no properties");

        assertEquals(List.of(List.of("id", "text"), List.of("sequence", "bigint"), List.of("sender", "text"),
                List.of("username", "text"), List.of("topic", "text"), List.of("payload", "text"),
                List.of("payload_encoding", "text"), List.of("qos", "smallint"), List.of("retain", "boolean"),
                List.of("properties", "jsonb"), List.of("time", "bigint"),
                List.of("datetime", "timestamp with time zone")),
                query("SELECT column_name::text, data_type::text FROM information_schema.columns "
                        + "WHERE table_name = 't_text' ORDER BY ordinal_position"));
        assertEquals(List.of(List.of("id")), query("SELECT a.attname::text FROM pg_index i JOIN pg_attribute a "
                + "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 't_text'::regclass "
                + "AND i.indisprimary"));
    }

    @Test
    void textFormatFallsBackToBase64ForBytesPostgresCannotHoldAsText() throws Exception {
        JdbcSink sink = sink(config("bytes", "table", "t_bytes"));
        byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, 0x41};
        byte[] withNul = "a\0b".getBytes(StandardCharsets.UTF_8);   // valid UTF-8, but text cannot hold U+0000
        write(sink, List.of(record("b-1", 1, "t", notUtf8), record("b-2", 2, "t", withNul),
                record("b-3", 3, "t", "plain")));
        List<List<Object>> rows = query("SELECT payload, payload_encoding FROM t_bytes ORDER BY sequence");
        assertEquals(List.of(Base64.getEncoder().encodeToString(notUtf8), "base64"), rows.get(0));
        assertEquals(List.of(Base64.getEncoder().encodeToString(withNul), "base64"), rows.get(1));
        assertEquals(Arrays.asList("plain", null), rows.get(2));
    }

    @Test
    void jsonFormatWritesJsonbThatCanBeQueried() throws Exception {
        JdbcSink sink = sink(config("json", "table", "t_json", "format", "json"));
        write(sink, List.of(
                record("js-1", 1, "t", "{\"temp\": 21.5, \"unit\": \"C\"}"),
                record("js-2", 2, "t", "[1, 2, 3]"),
                record("js-3", 3, "t", "\"a string\""),
                record("js-4", 4, "t", "not json"),
                record("js-5", 5, "t", new byte[] {(byte) 0xff, 0x00}),
                record("js-6", 6, "t", "{\"a\": \"x\\u0000y\"}")));   // JSON, but jsonb cannot hold U+0000
        assertEquals(List.of(List.of("jsonb")), query("SELECT data_type::text FROM information_schema.columns "
                + "WHERE table_name = 't_json' AND column_name = 'payload'"));
        assertEquals(List.of(
                Arrays.asList("object", "21.5", null),
                Arrays.asList("array", null, null),
                Arrays.asList("string", null, null),
                Arrays.asList("string", null, "text"),
                Arrays.asList("string", null, "base64"),
                Arrays.asList("string", null, "base64")),
                query("SELECT jsonb_typeof(payload), payload->>'temp', payload_encoding FROM t_json ORDER BY sequence"));
        assertEquals(List.of(List.of("not json"), List.of(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 0})),
                        List.of(Base64.getEncoder().encodeToString("{\"a\": \"x\\u0000y\"}".getBytes(StandardCharsets.UTF_8)))),
                query("SELECT payload #>> '{}' FROM t_json WHERE sequence >= 4 ORDER BY sequence"));
        assertEquals(List.of(List.of(1L)), query("SELECT count(*) FROM t_json WHERE (payload->>'temp')::numeric > 20"));
    }

    @Test
    void base64FormatWritesBase64Text() throws Exception {
        JdbcSink sink = sink(config("b64", "table", "t_b64", "format", "base64"));
        byte[] bytes = {0, 1, 2, (byte) 0xff};
        write(sink, List.of(record("b64-1", 1, "t", bytes), record("b64-2", 2, "t", "hi")));
        assertEquals(List.of(Arrays.asList("AAEC/w==", null), Arrays.asList("aGk=", null)),
                query("SELECT payload, payload_encoding FROM t_b64 ORDER BY sequence"));
        assertEquals(List.of(List.of("text")), query("SELECT data_type::text FROM information_schema.columns "
                + "WHERE table_name = 't_b64' AND column_name = 'payload'"));
    }

    @Test
    void fieldsLeaveTheOtherColumnsNull() throws Exception {
        JdbcSink sink = sink(config("fields", "table", "t_fields", "fields", "topic, payload"));
        write(sink, List.of(record("f-1", 7, "a/b", "x")));
        assertEquals(List.of(Arrays.asList("f-1", 7L, null, null, "a/b", "x", null, null, null, null, null, null)),
                query(SELECT + "t_fields"));
    }

    @Test
    void aBatchWrittenAgainLeavesOneRowPerId() throws Exception {
        JdbcSink sink = sink(config("idem", "table", "t_idem"));
        List<SinkRecord> batch = records("idem", 0, 300, 3);
        write(sink, batch);
        write(sink, batch);
        assertEquals(300, count("t_idem"));
        // overlapping the first, and holding an id twice itself (a retried record in the same batch)
        List<SinkRecord> overlapping = new ArrayList<>(records("idem", 250, 100, 3));
        overlapping.add(record("idem-349", 349, "t/1", "m349"));
        write(sink, overlapping);
        assertEquals(350, count("t_idem"));
        assertEquals(350, distinctIds("t_idem"));
        // the first write of an id stays: a re-write does not change it
        write(sink, List.of(record("idem-0", 0, "t/0", "changed")));
        assertEquals(List.of(List.of("m0")), query("SELECT payload FROM t_idem WHERE id = 'idem-0'"));
    }

    @Test
    void rowsOfATopicFollowThePublishOrder() throws Exception {
        JdbcSink sink = sink(config("order", "table", "t_order"));
        for (int b = 0; b < 3; b++) {
            write(sink, records("ord", b * 100, 100, 3));
        }
        for (int topic = 0; topic < 3; topic++) {
            List<List<Object>> expected = new ArrayList<>();
            for (int i = topic; i < 300; i += 3) {
                expected.add(List.of("m" + i));
            }
            assertEquals(expected, query("SELECT payload FROM t_order WHERE topic = 't/" + topic
                    + "' ORDER BY sequence"), "by sequence, topic " + topic);
            // and inserted in that order (a fresh table without updates keeps rows in insertion order)
            assertEquals(expected, query("SELECT payload FROM t_order WHERE topic = 't/" + topic
                    + "' ORDER BY ctid"), "by insertion, topic " + topic);
        }
    }

    @Test
    void aBatchOf1000RecordsIsWrittenWhole() throws Exception {
        JdbcSink sink = sink(config("k", "table", "t_1000"));
        write(sink, records("k", 0, 1000, 10));
        assertEquals(1000, count("t_1000"));
        assertEquals(List.of(List.of(0L, 999L)), query("SELECT min(sequence), max(sequence) FROM t_1000"));
    }

    @Test
    void aBatchLargerThanOneInsertIsOneTransaction() throws Exception {
        JdbcSink sink = sink(config("tx", "table", "t_tx"));
        write(sink, records("warm", 0, 1, 1));   // creates the table
        try (var c = pg.connect(); var st = c.createStatement()) {
            st.execute("ALTER TABLE t_tx ADD CONSTRAINT no_bad CHECK (topic <> 'bad')");
        }
        int n = PgWriter.MAX_ROWS_PER_INSERT * 2 + 345;
        List<SinkRecord> batch = new ArrayList<>(records("tx", 1, n, 7));
        batch.set(n - 10, record("tx-bad", n - 9, "bad", "rejected"));   // in the last INSERT
        String message = failure(sink, batch);
        assertTrue(message.contains("violates check constraint \"no_bad\""), message);
        assertEquals(1, count("t_tx"), "nothing of the failed batch");

        batch.set(n - 10, record("tx-" + (n - 9), n - 9, "t/x", "fixed"));
        write(sink, batch);
        assertEquals(n + 1, count("t_tx"));
    }

    @Test
    void aWrongPasswordFailsWithTheServersReason() throws Exception {
        JdbcSink sink = sink(config("badpw", "table", "t_badpw", "password", "wrong"));
        String message = failure(sink, records("pw", 0, 1, 1));
        assertTrue(message.startsWith("connector io.brokkr.connector.jdbc~badpw: writing 1 records to table t_badpw at "
                + pg.url() + " failed: "), message);
        assertTrue(message.contains("password authentication failed for user \"brokkr\""), message);
        assertTrue(!message.contains("wrong"), "the password is not shown: " + message);
    }

    @Test
    void aBadTableNameFailsEveryWriteWithAClearMessage() throws Exception {
        for (String bad : List.of("t; DROP TABLE t_text", "1table", "a.b.c", "t-1", "\"quoted\"", "x".repeat(64))) {
            JdbcSink sink = sink(config("badtable", "table", bad));   // activation does not throw
            assertEquals("connector io.brokkr.connector.jdbc~badtable: table '" + bad + "' is not a valid table name:"
                    + " letters, digits and _, not starting with a digit, at most 63 characters, optionally "
                    + "schema.table", failure(sink, records("bt", 0, 1, 1)));
        }
        JdbcSink schemaQualified = sink(config("schema", "table", "public.T_Schema"));
        write(schemaQualified, records("sq", 0, 2, 1));
        assertEquals(2, count("t_schema"), "an unquoted name is folded to lower case, as in any SQL");
    }

    @Test
    void otherBadValuesFailEveryWriteWithAClearMessage() throws Exception {
        Map<String, Object> noUrl = config("nourl");
        noUrl.remove("url");
        assertEquals("connector io.brokkr.connector.jdbc~nourl: url is required (jdbc:postgresql://host:port/database)",
                failure(sink(noUrl), records("x", 0, 1, 1)));
        assertEquals("connector io.brokkr.connector.jdbc~url: url 'jdbc:mysql://h/db?...' is not a "
                + "PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)",
                failure(sink(config("url", "url", "jdbc:mysql://h/db?password=secret")), records("x", 0, 1, 1)));
        assertEquals("connector io.brokkr.connector.jdbc~port: url 'jdbc:postgresql://127.0.0.1:notaport/db' is not a "
                + "PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)",
                failure(sink(config("port", "url", "jdbc:postgresql://127.0.0.1:notaport/db")), records("x", 0, 1, 1)));
        assertEquals("connector io.brokkr.connector.jdbc~to: socket.timeout.seconds must be a positive number of "
                + "seconds, was '0'", failure(sink(config("to", "socket.timeout.seconds", "0")), records("x", 0, 1, 1)));
        assertEquals("connector io.brokkr.connector.jdbc~fmt: format must be text, json or base64, was 'xml'",
                failure(sink(config("fmt", "format", "xml")), records("x", 0, 1, 1)));
    }

    @Test
    void aModifiedConfigurationAppliesToTheNextWrite() throws Exception {
        Map<String, Object> cfg = config("mod", "table", "t_mod_a");
        JdbcSink sink = sink(cfg);
        write(sink, records("mod", 0, 10, 1));

        cfg.put("table", "t_mod_b");
        cfg.put("format", "json");
        sink.modified(cfg);
        write(sink, List.of(record("mod-10", 10, "t", "{\"v\": 1}")));
        assertEquals(10, count("t_mod_a"));
        assertEquals(List.of(List.of("object")), query("SELECT jsonb_typeof(payload) FROM t_mod_b"));
        assertEquals(1, sessions("mod"), "table and format changed on the same connection");

        cfg.put("password", "wrong");
        sink.modified(cfg);
        assertTrue(failure(sink, records("mod", 11, 1, 1)).contains("password authentication failed"));
        awaitSessions("mod", 0);   // the old connection was closed

        cfg.put("password", PostgresServer.PASSWORD);
        cfg.put("table", "t_mod_a");
        cfg.put("format", "text");
        sink.modified(cfg);
        write(sink, records("mod", 5, 10, 1));   // 5..9 again, 10..14 new in t_mod_a
        assertEquals(15, count("t_mod_a"));
        assertEquals(15, distinctIds("t_mod_a"));

        // a reactivation (what DS does for a new configuration object): a new instance continues the same table
        sink.deactivate();
        JdbcSink again = sink(cfg);
        write(again, records("mod", 10, 10, 1));
        assertEquals(20, count("t_mod_a"));
        awaitSessions("mod", 1);
    }

    @Test
    void deactivateClosesTheConnectionAlsoDuringAWrite() throws Exception {
        JdbcSink sink = sink(config("close", "table", "t_close"));
        write(sink, records("c", 0, 10, 1));
        assertEquals(1, sessions("close"));
        sink.deactivate();
        awaitSessions("close", 0);
        assertTrue(failure(sink, records("c", 10, 1, 1)).endsWith("failed: the connector was stopped [SQLState 08003]"));

        JdbcSink busy = sink(config("busy", "table", "t_close"));
        write(busy, records("c", 0, 1, 1));
        List<String> outcomes = new ArrayList<>();
        Thread writer = new Thread(() -> {
            for (int b = 0; b < 100; b++) {
                try {
                    busy.write(records("busy" + b, 0, 1000, 3)).toCompletableFuture().join();
                    outcomes.add("ok");
                } catch (RuntimeException e) {
                    outcomes.add(e.getCause().getMessage());
                }
            }
        }, "sink-thread");
        writer.start();
        while (count("t_close") < 1010) {
            Thread.sleep(5);
        }
        busy.deactivate();
        writer.join(30_000);
        assertTrue(!writer.isAlive(), "the sink's thread is not stuck");
        assertEquals(100, outcomes.size());
        int firstFailure = outcomes.indexOf(outcomes.stream().filter(o -> !o.equals("ok")).findFirst().orElseThrow());
        for (String o : outcomes.subList(firstFailure, 100)) {
            assertTrue(o.startsWith("connector io.brokkr.connector.jdbc~busy: writing 1000 records to table t_close"),
                    o);
        }
        assertTrue(outcomes.get(99).endsWith("the connector was stopped [SQLState 08003]"), outcomes.get(99));
        awaitSessions("busy", 0);
    }

    @Test
    void throughputOfBatchesOf500RecordsOf64Bytes() throws Exception {
        // measured with fsync on (the test cluster runs with fsync off), each batch committed durably
        try (var c = pg.connect(); var st = c.createStatement()) {
            st.execute("ALTER SYSTEM SET fsync = on");
            st.execute("SELECT pg_reload_conf()");
        }
        try {
            JdbcSink sink = sink(config("bench", "table", "t_bench"));
            byte[] payload = new byte[64];
            Arrays.fill(payload, (byte) 'x');
            int batches = 200;
            List<List<SinkRecord>> all = new ArrayList<>();
            for (int b = 0; b < batches + 20; b++) {
                List<SinkRecord> batch = new ArrayList<>(500);
                for (int i = 0; i < 500; i++) {
                    long seq = b * 500L + i;
                    batch.add(record("bench-" + seq, seq, "bench/" + (i % 10), payload));
                }
                all.add(batch);
            }
            for (List<SinkRecord> batch : all.subList(0, 20)) {   // warm-up
                write(sink, batch);
            }
            long start = System.nanoTime();
            for (List<SinkRecord> batch : all.subList(20, batches + 20)) {
                write(sink, batch);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("JDBC connector: %d batches of 500 records of 64 bytes in %.2f s = %.0f records/s%n",
                    batches, seconds, batches * 500 / seconds);
            assertEquals((batches + 20) * 500L, count("t_bench"));
        } finally {
            try (var c = pg.connect(); var st = c.createStatement()) {
                st.execute("ALTER SYSTEM RESET fsync");
                st.execute("SELECT pg_reload_conf()");
            }
        }
    }

    /** Sessions the sink NAME has open on the server. */
    static long sessions(String name) throws Exception {
        return ((Number) query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'brokkr "
                + JdbcSink.PID + "~" + name + "'").get(0).get(0)).longValue();
    }

    static void awaitSessions(String name, long expected) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (sessions(name) != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, sessions(name), "sessions of " + name);
    }
}
