package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.brokkr.api.SinkInfo;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.Configuration;

/**
 * A storage connector in the running broker, the way an operator uses it: {@code feature:install}, a factory cfg,
 * changes at runtime, the connector bundle stopped, updated, uninstalled and installed again, and the broker bundle
 * restarted, all while a client publishes at QoS 1. A real redis-server (Debian package, started by the test from
 * inside Karaf) is the store; in the end it holds every message the client had acknowledged, exactly once.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConnectorsIT extends BrokerTestSupport {

    static final String LISTENER = "itest-conn";
    static final String REDIS_PID = "io.brokkr.connector.redis";
    static final String SINK = REDIS_PID + "~it";

    private int port;
    private int redisPort;
    private Process redis;
    private Path redisDir;

    @Before
    public void start() throws Exception {
        port = freePort(); // a fixed port: the listener gets the same one again after the broker restarts
        putListener(LISTENER, port);
        awaitBound(LISTENER, port);
        redisPort = freePort();
        redisDir = Files.createTempDirectory("brokkr-it-redis");
        startRedis();
    }

    /** Starts redis-server on {@link #redisPort} with its data in {@link #redisDir} (kept across restarts). */
    private void startRedis() throws Exception {
        redis = new ProcessBuilder(tool("redis-server", "redis-server"), "--port", String.valueOf(redisPort), "--bind",
                "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", redisDir.toString())
                .redirectErrorStream(true).redirectOutput(redisDir.resolve("redis.log").toFile()).start();
        await("redis-server answers PING", () -> {
            try {
                return redisCli("PING").trim().equals("PONG");
            } catch (Exception e) {
                return false;
            }
        });
    }

    @After
    public void stop() throws Exception {
        closeListener(LISTENER);
        if (redis != null) {
            redis.destroy();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    // ------------------------------------------------------------------------------------------------ tools


    private String redisCli(String... args) throws Exception {
        List<String> c = new ArrayList<>(List.of(tool("redis-cli", "redis-tools"), "-p", String.valueOf(redisPort),
                "--raw"));
        c.addAll(List.of(args));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // before waiting: a full
        if (!p.waitFor(20, TimeUnit.SECONDS)) {                                            // pipe would block it
            p.destroyForcibly();
            fail(String.join(" ", c) + " did not finish");
        }
        return out;
    }

    /** The payloads in the stream of a topic, in stream order (the sink writes only the payload field). */
    private List<String> streamPayloads(String topic) throws Exception {
        String[] lines = redisCli("XRANGE", "mqtt:" + topic, "-", "+").split("\n");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines.length - 1; i++) {
            if (lines[i].equals("payload")) {
                out.add(lines[++i]);
            }
        }
        return out;
    }

    private Optional<SinkInfo> sink() {
        return broker().sinks().stream().filter(s -> s.name().equals(SINK)).findFirst();
    }

    private void awaitState(String state) {
        await("sink " + SINK + " " + state, () -> sink().map(s -> s.state().equals(state)).orElse(false));
    }

    private Configuration putSink(Map<String, String> extra) throws IOException {
        Configuration c = configurationAdmin.getFactoryConfiguration(REDIS_PID, "it", "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("host", "127.0.0.1");
        props.put("port", String.valueOf(redisPort));
        props.put("topics", "it/#");
        props.put("layout", "stream");
        props.put("fields", "payload");
        for (Map.Entry<String, String> e : extra.entrySet()) {
            props.put(e.getKey(), e.getValue());
        }
        c.update(props);
        return c;
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : bundleContext.getBundles()) {
            if (b.getSymbolicName().equals(symbolicName)) {
                return b;
            }
        }
        fail("no bundle " + symbolicName);
        return null;
    }

    // ------------------------------------------------------------------------------------------------ load

    /**
     * Publishes QoS 1 messages {@code m0, m1, ...} on it/load until stopped. A message whose publish returned was
     * acknowledged; one whose publish failed (the broker bundle restarting) is uncertain and is not sent again (a
     * resend would be a second message to the broker).
     */
    private final class Load implements Runnable {
        final AtomicBoolean run = new AtomicBoolean(true);
        final Set<String> acked = ConcurrentHashMap.newKeySet();
        final Set<String> uncertain = ConcurrentHashMap.newKeySet();
        volatile Throwable failure;
        final Thread thread = new Thread(this, "it-load");

        @Override
        public void run() {
            MqttClient c = null;
            int i = 0;
            try {
                while (run.get()) {
                    if (c == null || !c.isConnected()) {
                        closeQuietly(c);
                        try {
                            c = connect("it-loader", port);
                        } catch (Exception e) {
                            Thread.sleep(100); // the broker is restarting
                            continue;
                        }
                    }
                    String m = "m" + i++;
                    try {
                        c.publish("it/load", m.getBytes(StandardCharsets.UTF_8), 1, false);
                        acked.add(m);
                    } catch (Exception e) {
                        uncertain.add(m);
                    }
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                closeQuietly(c);
            }
        }

        int size() {
            return acked.size();
        }

        void awaitMore(int n) {
            int target = size() + n;
            await(n + " more messages acknowledged", () -> size() >= target);
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

    @Test
    public void redisConnectorKeepsEveryAcknowledgedMessageOnceThroughRuntimeChanges() throws Exception {
        putSink(Map.of());
        ensureFeature("brokkr-connector-redis-core");
        awaitState("running");

        Load load = new Load();
        load.thread.start();
        load.awaitMore(200);

        // a cfg change while running
        putSink(Map.of("batch.size", "50"));
        load.awaitMore(200);
        awaitState("running");

        // the connector bundle stopped and started again (as bundle:update does)
        Bundle connector = bundle(REDIS_PID);
        connector.stop();
        awaitState("offline");
        load.awaitMore(200);
        connector.start();
        awaitState("running");
        load.awaitMore(200);

        // uninstalled and installed again
        featureService.uninstallFeature("brokkr-connector-redis-core");
        awaitState("offline");
        load.awaitMore(200);
        featureService.installFeature("brokkr-connector-redis-core");
        awaitState("running");
        load.awaitMore(200);

        // the connector paused from the shell
        executeCommand("mqtt:connector-stop " + SINK, 10_000L, true);
        awaitState("stopped");
        load.awaitMore(200);
        assertTrue(executeCommand("mqtt:connectors", 10_000L, true).contains("stopped"));
        executeCommand("mqtt:connector-start " + SINK, 10_000L, true);
        awaitState("running");

        // the database stopped (its data saved) and started again while messages come in
        redisCli("SHUTDOWN", "SAVE");
        redis.waitFor(10, TimeUnit.SECONDS);
        load.awaitMore(100);
        await("sink retrying while Redis is down", () -> sink().map(s -> s.state().equals("retrying")
                && s.lastError() != null).orElse(false));
        load.awaitMore(100);
        startRedis();
        awaitState("running");
        load.awaitMore(200);

        // the broker restarted
        Bundle brokerBundle = bundle("io.brokkr.broker");
        brokerBundle.stop();
        brokerBundle.start();
        awaitBound(LISTENER, port);
        load.awaitMore(200);
        awaitState("running");

        load.stop();
        Set<String> acked = new HashSet<>(load.acked);
        await("every acknowledged message in Redis", () -> {
            try {
                return new HashSet<>(streamPayloads("it/load")).containsAll(acked);
            } catch (Exception e) {
                return false;
            }
        });
        List<String> stored = streamPayloads("it/load");
        Map<String, Integer> copies = new HashMap<>();
        for (String s : stored) {
            copies.merge(s, 1, Integer::sum);
        }
        List<String> twice = copies.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        assertEquals("records stored twice", List.of(), twice);
        Set<String> unknown = new HashSet<>(stored);
        unknown.removeAll(acked);
        unknown.removeAll(load.uncertain);
        assertEquals("records nobody published", Set.of(), unknown);
        assertTrue("acknowledged: " + acked.size(), acked.size() >= 1400);
        String table = executeCommand("mqtt:connectors", 10_000L, true);
        assertTrue(table, table.contains(SINK) && table.contains("running"));

        featureService.uninstallFeature("brokkr-connector-redis-core");
        awaitState("offline");
        executeCommand("mqtt:connector-remove " + SINK, 10_000L, true);
        await("sink forgotten", () -> sink().isEmpty());
        configurationAdmin.getFactoryConfiguration(REDIS_PID, "it", "?").delete();
    }
}
