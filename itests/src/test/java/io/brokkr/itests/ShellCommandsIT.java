package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The mqtt:* commands, run through the Karaf shell, against real clients connected over TCP. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellCommandsIT extends BrokerTestSupport {

    static final String LISTENER = "itest-shell";

    private int port;
    private MqttClient client;

    @Before
    public void setUp() throws Exception {
        ensureFeature("brokkr-core");
        port = listener(LISTENER).filter(l -> l.bound()).map(l -> l.port()).orElse(-1);
        if (port < 0) {
            port = openListener(LISTENER);
        }
    }

    @After
    public void tearDown() {
        closeQuietly(client);
    }

    @Test
    public void listeners() {
        String out = executeCommand("mqtt:listeners");
        assertTrue(out, Pattern.compile(LISTENER + "\\s*[|│]\\s*tcp\\s*[|│]\\s*127\\.0\\.0\\.1\\s*[|│]\\s*" + port
                + "\\s*[|│]\\s*yes").matcher(out).find());
    }

    @Test
    public void clientsSessionsSubscriptions() throws Exception {
        client = connect("shell-it-client", port);
        client.subscribe("itest/shell/+/status", 1);

        String clients = executeCommand("mqtt:clients");
        assertTrue(clients, Pattern.compile("shell-it-client\\s*[|│].*[|│]\\s*" + LISTENER + "\\s*[|│]\\s*MQTT 3\\.1\\.1")
                .matcher(clients).find());
        String sessions = executeCommand("mqtt:sessions");
        assertTrue(sessions, Pattern.compile("shell-it-client\\s*[|│]\\s*yes").matcher(sessions).find());
        String subscriptions = awaitCommand("mqtt:subscriptions",
                s -> s.contains("shell-it-client") && s.contains("itest/shell/+/status"), "the subscription listed");
        assertTrue(subscriptions, Pattern.compile("shell-it-client\\s*[|│]\\s*itest/shell/\\+/status\\s*[|│]\\s*1")
                .matcher(subscriptions).find());

        client.disconnect();
        awaitCommand("mqtt:clients", s -> !s.contains("shell-it-client"), "the client gone from mqtt:clients");
    }

    @Test
    public void publishRetainedReachesSubscriberAndIsListed() throws Exception {
        client = connect("shell-it-subscriber", port);
        BlockingQueue<MqttMessage> received = new LinkedBlockingQueue<>();
        client.subscribe("itest/retained/#", 1, (t, m) -> received.add(m));

        String out = executeCommand("mqtt:publish --retain --qos 1 itest/retained/a hello-retained");
        assertTrue(out, out.contains("delivered to 1 subscription"));
        MqttMessage live = received.poll(10, TimeUnit.SECONDS);
        assertEquals("hello-retained", new String(live.getPayload(), StandardCharsets.UTF_8));
        assertEquals(1, live.getQos());

        String retained = executeCommand("mqtt:retained itest/retained/#");
        assertTrue(retained, Pattern.compile("itest/retained/a\\s*[|│]\\s*1\\s*[|│]\\s*14\\s*[|│]\\s*hello-retained")
                .matcher(retained).find());
        assertTrue(executeCommand("mqtt:retained nothing/here/#").contains("No retained messages"));

        // a new subscriber gets it as a retained message
        MqttClient late = connect("shell-it-late", port);
        try {
            BlockingQueue<MqttMessage> lateReceived = new LinkedBlockingQueue<>();
            late.subscribe("itest/retained/a", 1, (t, m) -> lateReceived.add(m));
            MqttMessage got = lateReceived.poll(10, TimeUnit.SECONDS);
            assertEquals("hello-retained", new String(got.getPayload(), StandardCharsets.UTF_8));
            assertTrue(got.isRetained());
        } finally {
            closeQuietly(late);
        }

        // an empty retained publish clears it
        executeCommand("mqtt:publish -r itest/retained/a");
        awaitCommand("mqtt:retained itest/retained/#", s -> s.contains("No retained messages"), "retained cleared");
    }

    @Test
    public void kickDisconnectsTheClient() throws Exception {
        client = connect("shell-it-kicked", port);
        BlockingQueue<Throwable> lost = new LinkedBlockingQueue<>();
        client.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.add(cause);
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });
        assertTrue(executeCommand("mqtt:clients").contains("shell-it-kicked"));

        String out = executeCommand("mqtt:kick shell-it-kicked");
        assertTrue(out, out.contains("Disconnected client 'shell-it-kicked'"));
        assertTrue("client saw its connection lost", lost.poll(10, TimeUnit.SECONDS) != null);
        assertFalse(client.isConnected());
        awaitCommand("mqtt:clients", s -> !s.contains("shell-it-kicked"), "kicked client gone from mqtt:clients");
        assertTrue(executeCommand("mqtt:kick no-such-client").contains("No client or session with id 'no-such-client'"));
    }

    @Test
    public void statsReflectTheBroker() throws Exception {
        client = connect("shell-it-stats", port);
        long before = stat(executeCommand("mqtt:stats"), "PUBLISH received");
        MqttMessage m = new MqttMessage("x".getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        client.publish("itest/stats", m);
        client.publish("itest/stats", m);

        String out = awaitCommand("mqtt:stats", s -> stat(s, "PUBLISH received") >= before + 2,
                "PUBLISH received counted");
        assertTrue(out, out.contains("Version"));
        assertTrue(out, stat(out, "Clients connected") >= 1);
        // the back-pressure counters (nothing congested here; BackPressureTest moves them)
        long pauses = stat(out, "Publisher pauses");
        assertTrue(out, stat(out, "Publisher pauses extended") <= pauses);
        assertTrue(out, stat(out, "Publisher pauses capped") <= pauses);
    }

    private static long stat(String out, String name) {
        Matcher m = Pattern.compile(Pattern.quote(name) + "\\s*[|│]\\s*(\\d+)").matcher(out);
        if (!m.find()) {
            throw new AssertionError("no '" + name + "' in:\n" + out);
        }
        return Long.parseLong(m.group(1));
    }
}
