package io.brokkr.shell.command;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** mqtt:connectors' line on the journal: sync policy, bytes used against journal.max.bytes, FULL and its counts. */
class ConnectorsJournalLineTest {

    @TempDir
    Path dir;
    Broker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.stop();
        }
    }

    private String list() throws Exception {
        ConnectorsCommand c = new ConnectorsCommand();
        c.broker = broker;
        return ShellOutput.run(c);
    }

    @Test
    void theJournalLineShowsThePolicyTheBoundAndWhenItIsFull() throws Exception {
        broker = new Broker(BrokerConfig.defaults().journalDir(dir.toString()).journalFsync("interval")
                .journalFsyncIntervalMs(500).journalMaxBytes(128 * 1024));
        broker.start();
        assertFalse(list().contains("Journal "), "no journal before the first sink");
        int port = broker.openListener(ListenerConfig.tcp("cmd-test", "127.0.0.1", 0)).port();
        broker.bindSink("stuck", batch -> new CompletableFuture<>(), Map.of("topics", "s/#")); // never written
        String out = list();
        assertTrue(out.contains("Journal " + dir + " (fsync every 500 ms): "), out);
        assertTrue(out.contains("journal.max.bytes 131072; refused QoS 1/2: 0, skipped QoS 0: 0"), out);

        MqttClient client = new MqttClient("tcp://127.0.0.1:" + port, "pub", new MemoryPersistence());
        client.connect();
        try {
            for (int i = 0; i < 1000; i++) {
                client.publish("s/x", new byte[1024], 1, false);
            }
            throw new AssertionError("the journal never refused a message");
        } catch (MqttException e) {
            // 3.1.1: the broker closed the connection without acknowledging the message the journal refused
        }
        out = list();
        assertTrue(out.contains("FULL (biggest backlog: stuck); refused QoS 1/2: 1, skipped QoS 0: 0"), out);
    }
}
