package io.brokkr.shell.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import io.brokkr.api.intercept.BrokerEvent;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.engine.ObserverQueue;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.support.CommandException;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** mqtt:connectors, mqtt:connector-stop/-start/-remove and mqtt:observers against the real engine. */
class ConnectorCommandsTest {

    @TempDir
    Path dir;
    Broker broker;
    MqttClient client;
    final List<String> stored = new CopyOnWriteArrayList<>();
    final MessageSink sink = batch -> {
        for (SinkRecord r : batch) {
            stored.add(new String(r.message().payload(), StandardCharsets.UTF_8));
        }
        return CompletableFuture.completedFuture(null);
    };

    @BeforeEach
    void start() throws Exception {
        broker = new Broker(BrokerConfig.defaults().journalDir(dir.toString()));
        broker.start();
        int port = broker.openListener(ListenerConfig.tcp("cmd-test", "127.0.0.1", 0)).port();
        client = new MqttClient("tcp://127.0.0.1:" + port, "pub", new MemoryPersistence());
        client.connect();
    }

    @AfterEach
    void stop() throws Exception {
        if (client.isConnected()) {
            client.disconnect();
        }
        client.close();
        broker.stop();
    }

    private String run(Action action) throws Exception {
        return ShellOutput.run(action);
    }

    private <T extends Action> T named(T action, String name) throws Exception {
        action.getClass().getDeclaredField("broker").set(action, broker);
        action.getClass().getDeclaredField("name").set(action, name);
        return action;
    }

    private static void await(java.util.function.BooleanSupplier ok) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!ok.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("condition not met in 10 s");
            }
            Thread.sleep(10);
        }
    }

    @Test
    void listStopStartAndRemoveAConnector() throws Exception {
        ConnectorsCommand list = new ConnectorsCommand();
        list.broker = broker;
        assertTrue(run(list).contains("No connectors"), "empty list says how to get one");

        broker.bindSink("io.brokkr.connector.redis~main", sink, Map.of("topics", "s/#"));
        assertTrue(run(named(new ConnectorStopCommand(), "io.brokkr.connector.redis~main")).contains("Stopped"));
        for (int i = 0; i < 3; i++) {
            client.publish("s/" + i, ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false);
        }
        await(() -> broker.sinks().get(0).pendingRecords() == 3);
        String out = run(list);
        assertTrue(out.contains("io.brokkr.connector.redis~main"), out);
        assertTrue(out.contains("stopped"), out);
        assertTrue(out.contains("s/#"), out);
        assertEquals(0, stored.size());

        assertTrue(run(named(new ConnectorStartCommand(), "io.brokkr.connector.redis~main")).contains("Started"));
        await(() -> stored.size() == 3);
        out = run(list);
        assertTrue(out.contains("running"), out);

        CommandException e = assertThrows(CommandException.class,
                () -> run(named(new ConnectorRemoveCommand(), "io.brokkr.connector.redis~main")));
        assertTrue(e.getMessage().contains("is registered"), e.getMessage());
        broker.unbindSink("io.brokkr.connector.redis~main", sink);
        assertTrue(run(list).contains("offline"));
        assertTrue(run(named(new ConnectorRemoveCommand(), "io.brokkr.connector.redis~main")).contains("Removed"));
        assertTrue(run(list).contains("No connectors"));

        e = assertThrows(CommandException.class, () -> run(named(new ConnectorStopCommand(), "nope")));
        assertEquals("Error: no connector named 'nope' (see mqtt:connectors)", e.getMessage());
    }

    @Test
    void observersAreListedWithTheirCounters() throws Exception {
        ObserverQueue q = new ObserverQueue("audit", e -> { }, 100, java.util.Set.of(BrokerEvent.Type.MESSAGE_RECEIVED));
        broker.setObservers(List.of(q));
        try {
            client.publish("a", new byte[1], 1, false);
            await(() -> q.info().delivered() == 1);
            ObserversCommand c = new ObserversCommand();
            c.broker = broker;
            String out = run(c);
            assertTrue(out.contains("audit"), out);
            assertTrue(out.contains("100"), out);
        } finally {
            q.close(100);
        }
    }
}
