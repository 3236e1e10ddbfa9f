package io.brokkr.shell.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.support.CommandException;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Runs the command actions against the real engine with a real MQTT client connected over TCP and checks that what
 * they print is the broker's state (the Pax Exam tests do the same through the Karaf console).
 */
class CommandsTest {

    Broker broker;
    int port;
    MqttClient client;
    final BlockingQueue<String> received = new ArrayBlockingQueue<>(100);

    @BeforeEach
    void start() throws Exception {
        broker = new Broker(BrokerConfig.defaults());
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("cmd-test", "127.0.0.1", 0)).port();
        client = new MqttClient("tcp://127.0.0.1:" + port, "sensor-42", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(false);
        o.setKeepAliveInterval(30);
        client.connect(o);
        client.subscribe("plant/+/temp", 1, (t, m) -> received.add(t + "=" + new String(m.getPayload(),
                StandardCharsets.UTF_8)));
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

    @Test
    void clientsSessionsSubscriptionsListenersStats() throws Exception {
        ClientsCommand clients = new ClientsCommand();
        clients.broker = broker;
        String out = run(clients);
        assertTrue(out.contains("sensor-42"), out);
        assertTrue(out.contains("3.1.1"), out);
        assertTrue(out.contains("cmd-test"), out);

        SessionsCommand sessions = new SessionsCommand();
        sessions.broker = broker;
        assertTrue(run(sessions).contains("sensor-42"));
        sessions.offlineOnly = true;
        assertFalse(run(sessions).contains("sensor-42"));
        sessions.connectedOnly = true;
        assertThrows(CommandException.class, () -> run(sessions));

        SubscriptionsCommand subs = new SubscriptionsCommand();
        subs.broker = broker;
        out = run(subs);
        assertTrue(out.contains("plant/+/temp") && out.contains("sensor-42"), out);
        subs.clientId = "nobody";
        CommandException e = assertThrows(CommandException.class, () -> run(subs));
        assertTrue(e.getMessage().contains("no session with client id 'nobody'"), e.getMessage());

        ListenersCommand listeners = new ListenersCommand();
        listeners.broker = broker;
        out = run(listeners);
        assertTrue(out.contains("cmd-test") && out.contains(String.valueOf(port)), out);

        // a listener whose port is taken stays listed, unbound, with the reason
        broker.openListener(ListenerConfig.tcp("taken", "127.0.0.1", port));
        out = run(listeners);
        assertEquals("no", cell(out, "taken", "Bound"), out);
        assertTrue(cell(out, "taken", "Error").contains("cannot bind 127.0.0.1:" + port), out);
        // a changed configuration binds it (as editing its cfg file does)
        broker.updateListener(ListenerConfig.tcp("taken", "127.0.0.1", 0));
        out = run(listeners);
        assertEquals("yes", cell(out, "taken", "Bound"), out);
        assertEquals("-", cell(out, "taken", "Error"), out);

        StatsCommand stats = new StatsCommand();
        stats.broker = broker;
        out = run(stats);
        assertTrue(out.contains(Broker.VERSION), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("Subscriptions") && l.trim().endsWith("1")), out);
    }

    @Test
    void publishIsDeliveredAndRetainedIsListed() throws Exception {
        PublishCommand publish = new PublishCommand();
        publish.broker = broker;
        publish.topic = "plant/a/temp";
        publish.payload = "21.5";
        publish.qos = 1;
        publish.retain = true;
        String out = run(publish);
        assertTrue(out.contains("delivered to 1 subscription"), out);
        assertEquals("plant/a/temp=21.5", received.poll(5, TimeUnit.SECONDS));

        RetainedCommand retained = new RetainedCommand();
        retained.broker = broker;
        out = run(retained);
        assertTrue(out.contains("plant/a/temp") && out.contains("21.5"), out);
        retained.filter = "other/#";
        assertTrue(run(retained).contains("No retained messages match 'other/#'"));
    }

    @Test
    void badInputGetsAClearError() {
        PublishCommand publish = new PublishCommand();
        publish.broker = broker;
        publish.topic = "plant/+/temp";
        CommandException e = assertThrows(CommandException.class, () -> run(publish));
        assertTrue(e.getMessage().contains("invalid topic name 'plant/+/temp'"), e.getMessage());
        publish.topic = "plant/a/temp";
        publish.responseTopic = "reply/#";
        e = assertThrows(CommandException.class, () -> run(publish));
        assertTrue(e.getMessage().contains("invalid response topic 'reply/#'"), e.getMessage());
        publish.responseTopic = null;
        publish.qos = 3;
        e = assertThrows(CommandException.class, () -> run(publish));
        assertTrue(e.getMessage().contains("invalid QoS 3"), e.getMessage());

        RetainedCommand retained = new RetainedCommand();
        retained.broker = broker;
        retained.filter = "a/#/b";
        e = assertThrows(CommandException.class, () -> run(retained));
        assertTrue(e.getMessage().contains("invalid topic filter 'a/#/b'"), e.getMessage());
        retained.filter = "$share/g/a";
        e = assertThrows(CommandException.class, () -> run(retained));
        assertTrue(e.getMessage().contains("shared subscription filters cannot select retained messages"),
                e.getMessage());
        assertTrue(received.isEmpty());
    }

    /** The cell of a ShellTable output in the row whose first cell is {@code row}, under the header {@code column}. */
    static String cell(String table, String row, String column) {
        List<String> lines = table.lines().toList();
        List<String> header = cells(lines.get(0));
        int i = header.indexOf(column);
        assertTrue(i >= 0, "no column " + column + " in " + header);
        List<String> cells = lines.stream().map(CommandsTest::cells).filter(c -> c.get(0).equals(row)).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + row + " in\n" + table));
        return i < cells.size() ? cells.get(i) : "";
    }

    private static List<String> cells(String line) {
        return java.util.Arrays.stream(line.split("\\|", -1)).map(String::trim).toList();
    }

    /** Waits (up to 5 s) until the condition holds. */
    static void awaitTrue(String what, java.util.concurrent.Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.call()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for: " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void kickDisconnectsTheClientAndKeepsOrRemovesTheSession() throws Exception {
        KickCommand kick = new KickCommand();
        kick.broker = broker;
        kick.clientId = "sensor-42";
        assertTrue(run(kick).contains("Disconnected client 'sensor-42'"));
        awaitTrue("sensor-42 disconnected", () -> !client.isConnected() && broker.client("sensor-42").isEmpty());
        assertTrue(broker.sessions().stream().anyMatch(s -> s.clientId().equals("sensor-42") && !s.connected()));
        assertTrue(run(kick).contains("is not connected; its session was kept"));
        kick.removeSession = true;
        assertTrue(run(kick).contains("was not connected; removed its session"));
        awaitTrue("session of sensor-42 removed", () -> broker.sessions().isEmpty()); // ends on its own loop
        assertTrue(run(kick).contains("No client or session with id 'sensor-42'"));
    }
}
