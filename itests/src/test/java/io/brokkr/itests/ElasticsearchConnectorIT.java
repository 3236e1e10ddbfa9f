package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import io.brokkr.api.SinkInfo;
import io.brokkr.api.storage.RecordFormat;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The Elasticsearch connector (the non-OSGi elasticsearch-java client embedded in its bundle) in a real Karaf:
 * {@code feature:install brokkr-connector-elasticsearch-core}, a factory cfg with the URL of a real Elasticsearch
 * 8.19 node, QoS 1 messages published with Paho; the documents are read back with the JDK HTTP client. Then the node
 * is killed while messages come in (the sink is {@code retrying} with the error in {@code mqtt:connectors}) and a
 * new node is started on the same port and data directory; the connector bundle is stopped and started: every
 * acknowledged message ends up indexed exactly once, and no thread of the embedded client outlives its bundle. A
 * document that Elasticsearch rejects (a mapping conflict, on a second sink) is the sink's last error.
 *
 * <p>The node runs in its own JVM, started from inside Karaf: {@code EsNodeProcess.Main} of the connector's test-jar
 * with the server jars; the class path is resolved by Maven on the host (target/es-node.classpath, see pom.xml) and
 * handed to Karaf as the system property {@code brokkr.es.classpath}. No Elasticsearch server class is in Karaf or
 * in the test probe.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ElasticsearchConnectorIT extends BrokerTestSupport {

    static final String LISTENER = "itest-es";
    static final String ES_PID = "io.brokkr.connector.elasticsearch";
    static final String SINK = ES_PID + "~it";
    static final String INDEX = "brokkr-it";
    /** A node takes 10 to 30 s to start on the loaded 2-core machine. */
    static final long NODE_START_MS = 120_000;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private int port;
    private Path esHome;
    private int httpPort;
    private int transportPort;
    private Process node;

    /** Runs on the host, where the working directory is itests/. */
    @Override
    protected Option[] extraOptions() {
        File cp = new File(System.getProperty("brokkr.es.classpath", "target/es-node.classpath")).getAbsoluteFile();
        if (!cp.isFile()) {
            throw new IllegalStateException("Elasticsearch node class path file not found (written by the "
                    + "es-node-classpath execution of maven-dependency-plugin): " + cp);
        }
        String classpath;
        try {
            classpath = Files.readString(cp.toPath()).trim();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new Option[] {editConfigurationFilePut("etc/system.properties", "brokkr.es.classpath", classpath)};
    }

    @Before
    public void start() throws Exception {
        port = openListener(LISTENER);
        esHome = Files.createTempDirectory("brokkr-it-es");
        httpPort = freePort();
        transportPort = freePort();
    }

    /**
     * Also leaves nothing behind for the retry of a failed test (KarafTestSupport runs it once more in the same
     * Karaf): the sinks are deleted and forgotten, so that their backlog does not reach the next node.
     */
    @After
    public void stop() throws Exception {
        for (String name : List.of("it", "bad")) {
            configurationAdmin.getFactoryConfiguration(ES_PID, name, "?").delete();
            String sink = ES_PID + "~" + name;
            awaitFor("sink " + sink + " offline or gone", NODE_START_MS, () -> broker().sinks().stream()
                    .noneMatch(s -> s.name().equals(sink) && !s.state().equals("offline")));
            if (broker().sinks().stream().anyMatch(s -> s.name().equals(sink))) {
                executeCommand("mqtt:connector-remove " + sink, 10_000L, true);
            }
        }
        closeListener(LISTENER);
        killNode();
    }

    // ------------------------------------------------------------------------------------------------ the node

    private String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    /**
     * Starts EsNodeProcess.Main in a new JVM on {@link #httpPort} with its data under {@link #esHome} (kept across
     * restarts) and waits until it prints ES-NODE-READY (cluster health yellow). Its output goes to node-N.log in
     * {@link #esHome}.
     */
    private void startNode() throws Exception {
        String classpath = System.getProperty("brokkr.es.classpath");
        assertTrue("brokkr.es.classpath not set in etc/system.properties", classpath != null && !classpath.isEmpty());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = esHome.resolve("node-" + System.nanoTime() + ".log");
        long t0 = System.nanoTime();
        node = new ProcessBuilder(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp", classpath,
                "io.brokkr.connector.elasticsearch.EsNodeProcess$Main", esHome.toString(),
                Integer.toString(httpPort), Integer.toString(transportPort))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Process p = node;
        awaitFor("the Elasticsearch node ready (output in " + log + ")", NODE_START_MS, () -> {
            if (!p.isAlive()) {
                fail("the Elasticsearch node process ended with " + p.exitValue() + ":\n" + tail(log));
            }
            return tail(log).contains("ES-NODE-READY");
        });
        System.out.printf("Elasticsearch node up in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    /** Kills the node's JVM: the server is gone at once, as after a crash. */
    private void killNode() throws InterruptedException {
        if (node != null) {
            node.destroyForcibly();
            node.waitFor(30, TimeUnit.SECONDS);
            node = null;
        }
    }

    private static String tail(Path log) {
        try {
            String s = Files.readString(log);
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * The parsed JSON answer of the node; an HTTP status >= 400 is an IOException (a poll goes on: a new index or a
     * restarted node answers 503 until its shard is started).
     */
    @SuppressWarnings("unchecked")
    private Map<String, Object> es(String method, String path, String body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> a = http.send(r, HttpResponse.BodyHandlers.ofString());
        if (a.statusCode() >= 400) {
            throw new IOException(method + " " + path + " -> HTTP " + a.statusCode() + ": " + a.body());
        }
        return (Map<String, Object>) RecordFormat.parseJson(a.body());
    }

    /** Documents in {@link #INDEX} after a refresh (0 if it does not exist yet). */
    private long count() throws Exception {
        es("POST", "/" + INDEX + "/_refresh?ignore_unavailable=true&allow_no_indices=true", null);
        return ((Number) es("GET", "/" + INDEX + "/_count?ignore_unavailable=true&allow_no_indices=true", null)
                .get("count")).longValue();
    }

    /** Every document of {@link #INDEX} as {@code _id -> _source} (the test writes far fewer than 10,000). */
    @SuppressWarnings("unchecked")
    private Map<String, Map<String, Object>> documents() throws Exception {
        es("POST", "/" + INDEX + "/_refresh", null);
        Map<String, Object> r = es("POST", "/" + INDEX + "/_search", "{\"size\":10000,\"query\":{\"match_all\":{}}}");
        Map<String, Map<String, Object>> out = new HashMap<>();
        for (Object h : (List<Object>) ((Map<String, Object>) r.get("hits")).get("hits")) {
            Map<String, Object> hit = (Map<String, Object>) h;
            out.put((String) hit.get("_id"), (Map<String, Object>) hit.get("_source"));
        }
        return out;
    }

    /** The documents found by a {@code _search} for one {@code _id}. */
    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> searchById(String id) throws Exception {
        Map<String, Object> r = es("POST", "/" + INDEX + "/_search",
                "{\"query\":{\"ids\":{\"values\":[\"" + id + "\"]}}}");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object h : (List<Object>) ((Map<String, Object>) r.get("hits")).get("hits")) {
            out.add((Map<String, Object>) h);
        }
        return out;
    }

    /**
     * Checks that {@link #INDEX} holds exactly one document per acknowledged message, none for a message nobody
     * published, and that each document's {@code _id} is its record id.
     */
    private void assertIndexedOnce(Set<String> acked, Set<String> uncertain) throws Exception {
        Map<String, Map<String, Object>> docs = documents();
        Map<String, List<String>> idsByPayload = new HashMap<>();
        docs.forEach((id, source) -> {
            assertEquals("_id is the record id", id, source.get("id"));
            assertEquals("topic of " + id, "it/load", source.get("topic"));
            assertEquals("qos of " + id, 1, ((Number) source.get("qos")).intValue());
            idsByPayload.computeIfAbsent((String) source.get("payload"), k -> new ArrayList<>()).add(id);
        });
        List<String> twice = idsByPayload.entrySet().stream().filter(e -> e.getValue().size() > 1)
                .map(e -> e.getKey() + "=" + e.getValue()).sorted().toList();
        assertEquals("messages indexed more than once", List.of(), twice);
        Set<String> missing = new HashSet<>(acked);
        missing.removeAll(idsByPayload.keySet());
        assertEquals("acknowledged messages not indexed", Set.of(), missing);
        Set<String> unknown = new HashSet<>(idsByPayload.keySet());
        unknown.removeAll(acked);
        unknown.removeAll(uncertain);
        assertEquals("documents for messages nobody published", Set.of(), unknown);
        assertEquals("_count", docs.size(), count());
        // a few documents found again by _id with _search
        List<String> ids = new ArrayList<>(docs.keySet());
        for (int i = 0; i < ids.size(); i += Math.max(1, ids.size() / 10)) {
            List<Map<String, Object>> hits = searchById(ids.get(i));
            assertEquals("hits for _id " + ids.get(i), 1, hits.size());
            assertEquals(docs.get(ids.get(i)), hits.get(0).get("_source"));
        }
    }

    // ------------------------------------------------------------------------------------------------ broker side

    /** Live I/O threads of the embedded Elasticsearch REST client in this JVM (Karaf's). */
    private static long ioThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("elasticsearch-rest-client-")).count();
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : bundleContext.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("no bundle " + symbolicName);
        return null;
    }

    private Optional<SinkInfo> sink() {
        return broker().sinks().stream().filter(s -> s.name().equals(SINK)).findFirst();
    }

    private void awaitState(String state) {
        awaitFor("sink " + SINK + " " + state, NODE_START_MS,
                () -> sink().map(s -> s.state().equals(state)).orElse(false));
    }

    private void putSink() throws IOException {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("url", url());
        props.put("index", INDEX);
        props.put("topics", "it/#");
        props.put("batch.size", "100");
        // the node is killed mid-load: a connect to a dead port fails at once, but do not wait long for answers
        props.put("socket.timeout.ms", "5000");
        configurationAdmin.getFactoryConfiguration(ES_PID, "it", "?").update(props);
    }

    /** A client that may have many QoS 1 messages in flight (Paho's default of 10 is reached under load). */
    private MqttClient connectClient(String clientId) throws MqttException {
        MqttClient c = client(clientId, port);
        MqttConnectOptions o = options();
        o.setMaxInflight(1000);
        c.connect(o);
        return c;
    }

    /**
     * A QoS 1 publish that returns when the broker acknowledged it. Paho refuses a publish locally, before sending
     * it, with "Too many publishes in progress" when its in-flight count has not caught up with the acknowledgements
     * yet: that one is sent again (it never reached the broker).
     */
    private static void publish(MqttClient c, String topic, String payload) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                c.publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1, false);
                return;
            } catch (MqttException e) {
                if (e.getReasonCode() != MqttException.REASON_CODE_MAX_INFLIGHT || attempt >= 100) {
                    throw e;
                }
                Thread.sleep(10);
            }
        }
    }

    private static void awaitFor(String what, long timeoutMs, BooleanSupplier condition) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                fail("timed out after " + timeoutMs + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for: " + what);
            }
        }
    }

    /**
     * Publishes QoS 1 messages {@code m0, m1, ...} on it/load until stopped. A message whose publish returned was
     * acknowledged; one whose publish failed is uncertain and is not sent again.
     */
    private final class Load implements Runnable {
        final AtomicBoolean run = new AtomicBoolean(true);
        final Set<String> acked = ConcurrentHashMap.newKeySet();
        final Set<String> uncertain = ConcurrentHashMap.newKeySet();
        volatile Throwable failure;
        final Thread thread = new Thread(this, "it-es-load");

        @Override
        public void run() {
            MqttClient c = null;
            int i = 0;
            try {
                while (run.get()) {
                    if (c == null || !c.isConnected()) {
                        closeQuietly(c);
                        c = connectClient("it-es-loader");
                    }
                    String m = "m" + i++;
                    try {
                        publish(c, "it/load", m);
                        acked.add(m);
                    } catch (Exception e) {
                        uncertain.add(m);
                    }
                    Thread.sleep(2); // a steady stream, not a flood: the node shares 2 cores with Karaf
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                closeQuietly(c);
            }
        }

        void awaitMore(int n) {
            int target = acked.size() + n;
            await(n + " more messages acknowledged", () -> acked.size() >= target);
        }

        void stop() throws InterruptedException {
            run.set(false);
            thread.join(30_000);
            if (failure != null) {
                throw new AssertionError("load failed", failure);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ tests

    /**
     * A second sink with {@code format=json}: a JSON payload makes {@code payload} an object in its index, so the
     * next, plain-text payload is rejected by Elasticsearch (a mapping conflict). The bulk item's error, parsed by
     * the embedded client, is the sink's last error. The sink is then removed.
     */
    private void rejectedDocumentIsTheLastError() throws Exception {
        String bad = ES_PID + "~bad";
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("url", url());
        props.put("index", INDEX + "-bad");
        props.put("topics", "bad/#");
        props.put("format", "json");
        configurationAdmin.getFactoryConfiguration(ES_PID, "bad", "?").update(props);
        awaitFor("sink " + bad + " running", NODE_START_MS, () -> broker().sinks().stream()
                .anyMatch(s -> s.name().equals(bad) && s.state().equals("running")));
        MqttClient c = connectClient("it-es-bad");
        try {
            publish(c, "bad/1", "{\"temp\":21.5}");
            publish(c, "bad/1", "not json");
        } finally {
            closeQuietly(c);
        }
        awaitFor("sink " + bad + " retrying with the rejected document", NODE_START_MS, () -> broker().sinks()
                .stream().anyMatch(s -> s.name().equals(bad) && s.state().equals("retrying")
                        && s.lastError() != null && s.lastError().contains("documents rejected; first: _id ")
                        && (s.lastError().contains("document_parsing_exception")
                        || s.lastError().contains("mapper_parsing_exception"))));
        configurationAdmin.getFactoryConfiguration(ES_PID, "bad", "?").delete();
        awaitFor("sink " + bad + " offline", NODE_START_MS, () -> broker().sinks().stream()
                .anyMatch(s -> s.name().equals(bad) && s.state().equals("offline")));
        executeCommand("mqtt:connector-remove " + bad, 10_000L, true);
        await("sink " + bad + " forgotten", () -> broker().sinks().stream().noneMatch(s -> s.name().equals(bad)));
    }

    @Test
    public void everyAcknowledgedMessageIsIndexedOnceAcrossANodeRestart() throws Exception {
        startNode();
        putSink();
        ensureFeature("brokkr-connector-elasticsearch-core");
        awaitState("running");

        // QoS 1 messages, each acknowledged: one document each
        Set<String> first = new HashSet<>();
        MqttClient c = connectClient("it-es-first");
        try {
            for (int i = 0; i < 200; i++) {
                String m = "f" + i;
                publish(c, "it/load", m);
                first.add(m);
            }
        } finally {
            closeQuietly(c);
        }
        awaitFor("200 documents in " + INDEX, NODE_START_MS, () -> {
            try {
                return count() >= 200;
            } catch (Exception e) {
                return false;
            }
        });
        assertIndexedOnce(first, Set.of());
        await("200 written", () -> sink().orElseThrow().written() == 200);

        rejectedDocumentIsTheLastError();

        // the node killed while messages come in: the sink retries with the error
        Load load = new Load();
        load.thread.start();
        load.awaitMore(200);
        killNode();
        load.awaitMore(100);
        // (a bulk in flight when the node died may fail otherwise; the retries then find the port closed)
        String refused = "connector it: Elasticsearch " + url() + " is not reachable";
        awaitFor("sink retrying with '" + refused + "' while Elasticsearch is down", NODE_START_MS, () -> sink()
                .map(s -> s.state().equals("retrying") && s.lastError() != null && s.lastError().contains(refused))
                .orElse(false));
        String table = awaitCommand("mqtt:connectors", out -> out.contains("retrying"), "sink retrying");
        assertTrue(table, table.contains(SINK) && table.contains("is not reachable"));
        load.awaitMore(100);

        // a new node on the same port and data: the backlog is written, the batch in flight not twice
        startNode();
        awaitState("running");
        load.awaitMore(200);

        // the connector bundle stopped and started again (a new class loader for the embedded client): the
        // client's I/O threads end with it, and the new one continues where the old one stopped
        assertTrue("the client's I/O threads run", ioThreads() > 0);
        Bundle connector = bundle(ES_PID);
        connector.stop();
        awaitState("offline");
        await("no I/O thread of the client left after the bundle stopped", () -> ioThreads() == 0);
        load.awaitMore(100);
        connector.start();
        awaitState("running");
        load.awaitMore(200);
        load.stop();

        Set<String> acked = new HashSet<>(first);
        acked.addAll(load.acked);
        awaitFor("every acknowledged message indexed", NODE_START_MS, () -> {
            try {
                return count() >= acked.size();
            } catch (Exception e) {
                return false;
            }
        });
        await("nothing pending", () -> sink().map(s -> s.state().equals("running") && s.pendingRecords() == 0)
                .orElse(false));
        assertIndexedOnce(acked, load.uncertain);
        assertTrue("acknowledged: " + acked.size(), acked.size() >= 1000);
        table = executeCommand("mqtt:connectors", 10_000L, true);
        assertTrue(table, table.contains(SINK) && table.contains("running"));

        featureService.uninstallFeature("brokkr-connector-elasticsearch-core");
        awaitState("offline");
        await("no I/O thread of the client left after uninstall", () -> ioThreads() == 0);
        executeCommand("mqtt:connector-remove " + SINK, 10_000L, true);
        await("sink forgotten", () -> sink().isEmpty());
        configurationAdmin.getFactoryConfiguration(ES_PID, "it", "?").delete();
    }
}
