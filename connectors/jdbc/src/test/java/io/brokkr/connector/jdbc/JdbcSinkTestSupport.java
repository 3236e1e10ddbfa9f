package io.brokkr.connector.jdbc;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** A PostgreSQL cluster per test class, sinks activated as DS would, and helpers to write and read back. */
abstract class JdbcSinkTestSupport {

    static final long T0 = 1_796_083_141_123L;   // 2026-11-30T23:59:01.123Z

    static PostgresServer pg;
    /** The thread every write of a test runs on (daemon: a write stuck after a failed test does not hold the JVM). */
    private static final ExecutorService SINK_THREAD = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "sink-thread");
        t.setDaemon(true);
        return t;
    });
    private final List<JdbcSink> sinks = new ArrayList<>();

    @BeforeAll
    static void startPostgres() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
            pg = null;
        }
    }

    @AfterEach
    void deactivateSinks() {
        sinks.forEach(JdbcSink::deactivate);
        sinks.clear();
    }

    /** The configuration of a factory instance NAME pointing at the test server, plus {@code keys}. */
    static Map<String, Object> config(String name, Object... keys) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("service.pid", JdbcSink.PID + "~" + name);
        cfg.put("service.factoryPid", JdbcSink.PID);
        cfg.put("component.name", JdbcSink.PID);
        cfg.put("url", pg.url());
        cfg.put("user", PostgresServer.USER);
        cfg.put("password", PostgresServer.PASSWORD);
        for (int i = 0; i < keys.length; i += 2) {
            cfg.put((String) keys[i], keys[i + 1]);
        }
        return cfg;
    }

    /** A sink activated with {@code cfg} (as DS activates it), deactivated after the test. */
    JdbcSink sink(Map<String, Object> cfg) {
        JdbcSink sink = new JdbcSink();
        sink.activate(cfg);
        sinks.add(sink);
        return sink;
    }

    /**
     * Calls {@code write} on a thread of its own, as the broker does (write blocks its caller), so that a write that
     * hangs fails the test after 60 s instead of hanging it.
     */
    static CompletableFuture<Void> writeOnSinkThread(JdbcSink sink, List<SinkRecord> batch) {
        return CompletableFuture.supplyAsync(() -> sink.write(batch), SINK_THREAD)
                .thenCompose(stage -> stage);
    }

    static void write(JdbcSink sink, List<SinkRecord> batch) throws Exception {
        try {
            writeOnSinkThread(sink, batch).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("write failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Writes a batch that must fail; returns the failure's message. */
    static String failure(JdbcSink sink, List<SinkRecord> batch) throws InterruptedException, TimeoutException {
        try {
            writeOnSinkThread(sink, batch).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertNotNull(e.getCause().getMessage());
            return e.getCause().getMessage();
        }
        return fail("the write succeeded");
    }

    static SinkRecord record(String id, long sequence, String topic, byte[] payload) {
        return new SinkRecord(id, sequence, new Message(topic, payload, 1, false, MessageProperties.NONE, "client-1",
                T0 + sequence), "alice");
    }

    static SinkRecord record(String id, long sequence, String topic, String payload) {
        return record(id, sequence, topic, payload.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code n} records {@code prefix-first} ... on topic {@code t/<i % topics>}, payload {@code m<i>}. */
    static List<SinkRecord> records(String prefix, int first, int n, int topics) {
        List<SinkRecord> out = new ArrayList<>();
        for (int i = first; i < first + n; i++) {
            out.add(record(prefix + "-" + i, i, "t/" + (i % topics), "m" + i));
        }
        return out;
    }

    /** Rows of a query, each a list of its column values. */
    static List<List<Object>> query(String sql) throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            List<List<Object>> rows = new ArrayList<>();
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    row.add(rs.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    static long count(String table) throws SQLException {
        return ((Number) query("SELECT count(*) FROM " + table).get(0).get(0)).longValue();
    }

    static long distinctIds(String table) throws SQLException {
        return ((Number) query("SELECT count(DISTINCT id) FROM " + table).get(0).get(0)).longValue();
    }
}
