package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A broker process killed with SIGKILL right after acknowledging QoS 1 messages that a sink takes: the broker started
 * again on the same journal hands every acknowledged message to the sink, with {@code journal.fsync = always} (the
 * PUBACK waited for the force) and with {@code interval} (the PUBACK waited only for the write into the segment file,
 * which the operating system keeps when the process dies). The broker runs in a child JVM ({@link Child}); its sink
 * never completes a write, so nothing is committed before the kill.
 */
class JournalCrashTest {

    @TempDir
    Path dir;
    private Process child;
    private Broker broker;

    @AfterEach
    void cleanUp() {
        if (child != null) {
            child.destroyForcibly();
        }
        if (broker != null) {
            broker.stop();
        }
    }

    /** The broker process: journal in {@code args[0]}, {@code journal.fsync = args[1]}; prints {@code PORT <n>}. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Broker b = TestBroker.start(BrokerConfig.fromProperties(Map.of("sys.interval", "0", "journal.dir", args[0],
                    "journal.fsync", args[1], "journal.fsync.interval.ms", "60000")));
            // a store that never answers: the records stay in the journal, uncommitted
            b.bindSink("crash-sink", batch -> new CompletableFuture<>(), Map.of("topics", "crash/#"));
            System.out.println("PORT " + TestBroker.port(b));
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"always", "interval"})
    void everyAcknowledgedMessageReachesTheSinkAfterTheBrokerProcessWasKilled(String fsync) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "-Xmx256m",
                Child.class.getName(), dir.toString(), fsync).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        int port = -1;
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("PORT ")) {
                port = Integer.parseInt(line.substring(5).trim());
                break;
            }
        }
        assertTrue(port > 0, "the child broker started");
        Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "child-output");
        drain.setDaemon(true);
        drain.start();

        Set<String> acked = ConcurrentHashMap.newKeySet();
        MqttAsyncClient pub = new MqttAsyncClient("tcp://127.0.0.1:" + port, "crash-pub", new MemoryPersistence());
        IMqttActionListener onAck = new IMqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                acked.add((String) token.getUserContext()); // the PUBACK came
            }

            @Override
            public void onFailure(IMqttToken token, Throwable e) {
            }
        };
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMaxInflight(100);
        o.setAutomaticReconnect(false);
        pub.connect(o).waitForCompletion(10_000);
        Thread publisher = new Thread(() -> {
            try {
                for (int i = 0; ; i++) {
                    while (pub.getPendingDeliveryTokens().length >= 90) {
                        Thread.onSpinWait();
                    }
                    String m = "m" + i;
                    pub.publish("crash/" + (i % 4), m.getBytes(StandardCharsets.UTF_8), 1, false, m, onAck);
                }
            } catch (MqttException e) {
                // the broker is gone
            }
        }, "crash-publisher");
        publisher.setDaemon(true);
        publisher.start();
        Await.until("3000 messages acknowledged", 60_000, () -> acked.size() >= 3000);
        child.destroyForcibly(); // SIGKILL, publishing at full speed
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        publisher.join(30_000);
        Set<String> acknowledged = new TreeSet<>(acked);
        pub.close(true);

        broker = TestBroker.start(BrokerConfig.defaults().sysInterval(0).journalDir(dir.toString()));
        Map<String, String> stored = new ConcurrentHashMap<>();
        MessageSink store = batch -> {
            for (SinkRecord r : batch) {
                stored.putIfAbsent(new String(r.message().payload(), StandardCharsets.UTF_8), r.id());
            }
            return CompletableFuture.completedFuture(null);
        };
        broker.bindSink("crash-sink", store, Map.of("topics", "crash/#"));
        Await.until("the sink has every acknowledged message", 30_000,
                () -> stored.keySet().containsAll(acknowledged));
        assertTrue(acknowledged.size() >= 3000);
        List<String> missing = acknowledged.stream().filter(m -> !stored.containsKey(m)).toList();
        assertEquals(List.of(), missing, fsync + ": acknowledged but lost");
    }
}
