package io.brokkr.connector.elasticsearch;

import static io.brokkr.connector.elasticsearch.ElasticsearchSinkTest.NOV_29;
import static io.brokkr.connector.elasticsearch.ElasticsearchSinkTest.batch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.brokkr.api.storage.SinkRecord;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * What goes over the wire, against a JDK HTTP server that answers like Elasticsearch: authentication headers (the
 * embedded test node has no security), an authentication failure, a server that accepts and never answers, a server
 * that is down when the connector starts, several URLs.
 */
class ElasticsearchSinkHttpTest {

    /** One request as the fake server saw it. */
    record Seen(String method, String path, String authorization, String body) {
    }

    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private volatile int status = 200;
    private volatile String answer;
    /** The status of the answer to {@code PUT /_index_template/...}. */
    private volatile int templateStatus = 200;

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : cleanup) {
            c.close();
        }
    }

    /** A fake Elasticsearch that acknowledges every bulk item as created (or answers {@link #answer}). */
    HttpServer fakeEs(int port) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        server.createContext("/", this::handle);
        server.start();
        cleanup.add(() -> server.stop(0));
        return server;
    }

    private void handle(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().getPath()
                + (ex.getRequestURI().getQuery() == null ? "" : "?" + ex.getRequestURI().getQuery()),
                ex.getRequestHeaders().getFirst("Authorization"), body));
        if (ex.getRequestURI().getPath().startsWith("/_index_template/")) {
            byte[] ack = (templateStatus == 200 ? "{\"acknowledged\":true}"
                    : "{\"error\":{\"type\":\"security_exception\",\"reason\":\"action "
                    + "[indices:admin/index_template/put] is unauthorized\"},\"status\":" + templateStatus + "}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.getResponseHeaders().add("X-Elastic-Product", "Elasticsearch");
            ex.sendResponseHeaders(templateStatus, ack.length);
            ex.getResponseBody().write(ack);
            ex.close();
            return;
        }
        String out = answer;
        if (out == null) {
            StringBuilder sb = new StringBuilder("{\"took\":1,\"errors\":false,\"items\":[");
            String[] lines = body.split("\n");
            for (int i = 0; i < lines.length; i += 2) {
                Map<?, ?> action = (Map<?, ?>) ((Map<?, ?>) io.brokkr.api.storage.RecordFormat.parseJson(lines[i]))
                        .get("create");
                sb.append(i == 0 ? "" : ",").append("{\"create\":{\"_index\":\"").append(action.get("_index"))
                        .append("\",\"_id\":\"").append(action.get("_id")).append("\",\"_version\":1,\"result\":"
                                + "\"created\",\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},"
                                + "\"_seq_no\":0,\"_primary_term\":1,\"status\":201}}");
            }
            out = sb.append("]}").toString();
        }
        byte[] bytes = out.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.getResponseHeaders().add("X-Elastic-Product", "Elasticsearch");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    /** A sink on the index {@code wire}, without an index template unless {@code kv} says so. */
    ElasticsearchSink sink(Object... kv) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("service.pid", "io.brokkr.connector.elasticsearch~wire");
        cfg.put("index", "wire");
        cfg.put("template", "false");
        for (int i = 0; i < kv.length; i += 2) {
            cfg.put((String) kv[i], kv[i + 1]);
        }
        ElasticsearchSink s = new ElasticsearchSink();
        s.activate(cfg);
        cleanup.add(s::deactivate);
        return s;
    }

    static String url(HttpServer s) {
        return "http://127.0.0.1:" + s.getAddress().getPort();
    }

    static Throwable writeFails(ElasticsearchSink s, List<SinkRecord> batch) {
        return assertThrows(ExecutionException.class,
                () -> s.write(batch).toCompletableFuture().get(30, TimeUnit.SECONDS)).getCause();
    }

    @Test
    void basicAuthenticationIsSentWithTheOneBulkRequest() throws Exception {
        HttpServer server = fakeEs(0);
        ElasticsearchSink s = sink("url", url(server), "user", "elastic", "password", "s3cret: ü");
        List<SinkRecord> batch = batch(3, "t", NOV_29);
        s.write(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);

        assertEquals(1, seen.size(), "one bulk request per batch");
        Seen r = seen.get(0);
        assertEquals("POST", r.method());
        assertEquals("/_bulk", r.path());
        assertEquals("Basic " + Base64.getEncoder().encodeToString("elastic:s3cret: ü".getBytes(StandardCharsets.UTF_8)),
                r.authorization());
        String[] lines = r.body().split("\n");
        assertEquals(6, lines.length);
        assertEquals("{\"create\":{\"_id\":\"" + batch.get(0).id() + "\",\"_index\":\"wire\"}}", lines[0]);
        assertTrue(lines[1].startsWith("{\"id\":\"" + batch.get(0).id() + "\",\"sender\":\"client-1\""), lines[1]);
    }

    @Test
    void theIndexTemplateIsPutOnceBeforeTheFirstBulkWithTheCredentials() throws Exception {
        HttpServer server = fakeEs(0);
        ElasticsearchSink s = sink("url", url(server), "template", "true", "index", "wire-%{yyyy}",
                "api.key", "a2V5OnNlY3JldA==");
        s.write(batch(2, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        s.write(batch(2, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(List.of("PUT /_index_template/brokkr-wire?create=true", "POST /_bulk", "POST /_bulk"),
                seen.stream().map(r -> r.method() + " " + r.path()).toList());
        Seen put = seen.get(0);
        assertEquals("ApiKey a2V5OnNlY3JldA==", put.authorization());
        Map<?, ?> template = (Map<?, ?>) io.brokkr.api.storage.RecordFormat.parseJson(put.body());
        assertEquals(List.of("wire-*"), template.get("index_patterns"));
        assertEquals(155, ((Number) template.get("priority")).intValue(), "150 + the length of 'wire-'");
        // an index pattern or a payload format of its own after a reconfiguration: put again (create=true: an
        // existing template of that name stays)
        Map<String, Object> c = new HashMap<>(Map.of("service.pid", "io.brokkr.connector.elasticsearch~wire",
                "url", url(server), "index", "wire2-%{yyyy}", "api.key", "a2V5OnNlY3JldA=="));
        s.modified(c);
        s.write(batch(1, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals("PUT /_index_template/brokkr-wire2?create=true", seen.get(3).method() + " " + seen.get(3).path());
        assertEquals(5, seen.size());
    }

    @Test
    void aTemplateTheServerRefusesIsSkippedAndAServerErrorFailsTheWrite() throws Exception {
        HttpServer server = fakeEs(0);
        templateStatus = 403; // e.g. an API key that may write documents but not templates
        ElasticsearchSink s = sink("url", url(server), "template", "true");
        s.write(batch(2, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        s.write(batch(2, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(List.of("PUT", "POST", "POST"), seen.stream().map(Seen::method).toList(), "asked once");

        seen.clear();
        templateStatus = 503;
        ElasticsearchSink t = sink("url", url(server), "template", "true", "index", "other");
        Throwable e = writeFails(t, batch(1, "t", NOV_29));
        assertTrue(e.getMessage().startsWith("connector wire: Elasticsearch " + url(server) + " failed to install "
                + "index template brokkr-other: HTTP 503"), e.getMessage());
        assertEquals(List.of("PUT"), seen.stream().map(Seen::method).toList(), "no bulk before the template");
        templateStatus = 200;
        t.write(batch(1, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(List.of("PUT", "PUT", "POST"), seen.stream().map(Seen::method).toList());
    }

    @Test
    void apiKeyIsSentAndNoAuthorizationWithoutCredentials() throws Exception {
        HttpServer server = fakeEs(0);
        sink("url", url(server), "api.key", "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==")
                .write(batch(1, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        sink("url", url(server)).write(batch(1, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", seen.get(0).authorization());
        assertNull(seen.get(1).authorization());
    }

    @Test
    void badCredentialsFailWithTheServersReason() throws Exception {
        HttpServer server = fakeEs(0);
        status = 401;
        answer = "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"unable to authenticate user"
                + " [elastic] for REST request [/_bulk]\"}],\"type\":\"security_exception\",\"reason\":\"unable to "
                + "authenticate user [elastic] for REST request [/_bulk]\"},\"status\":401}";
        Throwable t = writeFails(sink("url", url(server), "user", "elastic", "password", "wrong"),
                batch(2, "t", NOV_29));
        String m = t.getMessage();
        assertTrue(m.startsWith("connector wire: Elasticsearch " + url(server) + " rejected the bulk request: HTTP 401"),
                m);
        assertTrue(m.contains("security_exception: unable to authenticate user [elastic]"), m);
    }

    @Test
    void aServerThatNeverAnswersFailsAfterTheSocketTimeout() throws Exception {
        ServerSocket silent = silentServer();
        ElasticsearchSink s = sink("url", "http://127.0.0.1:" + silent.getLocalPort(), "socket.timeout.ms", "1500");
        long t0 = System.nanoTime();
        Throwable t = writeFails(s, batch(1, "t", NOV_29));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 1400 && ms < 10_000, "failed after " + ms + " ms");
        assertTrue(t.getMessage().contains("did not answer within socket.timeout.ms=1500"), t.getMessage());
    }

    /**
     * A bundle stop or a deleted cfg while a write waits for the server: the write ends at once, no thread stays.
     * Repeated: a deactivate while the request's connection was still being set up hung (the synchronous client
     * waited for ever for a request that the stopped I/O reactor never completed), about once in 30.
     */
    @RepeatedTest(30)
    void deactivateDuringAWriteEndsItAtOnce() throws Exception {
        ServerSocket silent = silentServer();
        long before = ElasticsearchSinkTest.ioThreads();
        ElasticsearchSink s = sink("url", "http://127.0.0.1:" + silent.getLocalPort(), "socket.timeout.ms", "60000");
        java.util.concurrent.CompletableFuture<Void> result = new java.util.concurrent.CompletableFuture<>();
        Thread writer = new Thread(() -> s.write(batch(5, "t", NOV_29)).whenComplete((v, e) -> {
            if (e != null) {
                result.completeExceptionally(e);
            } else {
                result.complete(v);
            }
        }), "sink-writer");
        writer.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (silentAccepted.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10); // until the request is on its way
        }
        assertTrue(!silentAccepted.isEmpty(), "the connector connected");
        long t0 = System.nanoTime();
        s.deactivate();
        Throwable t = assertThrows(ExecutionException.class, () -> result.get(10, TimeUnit.SECONDS)).getCause();
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "ended at once");
        assertEquals("connector wire was closed during the write", t.getMessage());
        writer.join(5000);
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ElasticsearchSinkTest.ioThreads() > before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(before, ElasticsearchSinkTest.ioThreads(), "no I/O thread left");
    }

    private final List<Socket> silentAccepted = new CopyOnWriteArrayList<>();

    /** Accepts connections, reads nothing, answers nothing. */
    private ServerSocket silentServer() throws IOException {
        ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        List<Socket> accepted = silentAccepted;
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept()); // read nothing, answer nothing
                }
            } catch (IOException closed) {
                // test over
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        cleanup.add(() -> {
            silent.close();
            for (Socket s : accepted) {
                s.close();
            }
        });
        return silent;
    }

    @Test
    void aServerDownAtActivationIsReachedOnceItIsUp() throws Exception {
        int port = EsTestNode.freePort();
        ElasticsearchSink s = sink("url", "http://127.0.0.1:" + port);
        List<SinkRecord> batch = batch(2, "t", NOV_29);
        Throwable t = writeFails(s, batch);
        assertTrue(t.getMessage().startsWith("connector wire: Elasticsearch http://127.0.0.1:" + port
                + " is not reachable"), t.getMessage());
        fakeEs(port);
        s.write(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(1, seen.size());
    }

    @Test
    void severalUrlsFailOverToALiveNode() throws Exception {
        int dead = EsTestNode.freePort();
        HttpServer live = fakeEs(0);
        ElasticsearchSink s = sink("url", "http://127.0.0.1:" + dead + " , " + url(live));
        for (int i = 0; i < 3; i++) {
            s.write(batch(1, "t", NOV_29)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        assertEquals(3, seen.size());
    }
}
