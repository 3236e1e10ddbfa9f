package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.Configuration;

/**
 * A real MQTT client (Paho, over TCP) against the broker in Karaf, and listeners driven by ConfigurationAdmin
 * factory configurations: created (opens), updated (rebinds, open connections stay), deleted (closes).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BrokerIT extends BrokerTestSupport {

    @Before
    public void brokkrCore() throws Exception {
        ensureFeature("brokkr-core");
    }

    @Test
    public void publishSubscribeOverTcp() throws Exception {
        int port = openListener("itest-pubsub");
        MqttClient sub = connect("broker-it-sub", port);
        MqttClient pub = connect("broker-it-pub", port);
        try {
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            sub.subscribe("itest/pubsub/+", 1, (topic, msg) ->
                    received.add(topic + "=" + new String(msg.getPayload(), StandardCharsets.UTF_8) + "@" + msg.getQos()));
            for (int qos = 0; qos <= 2; qos++) {
                MqttMessage m = new MqttMessage(("hello-" + qos).getBytes(StandardCharsets.UTF_8));
                m.setQos(qos);
                pub.publish("itest/pubsub/q" + qos, m);
                // granted QoS 1 caps QoS 2 deliveries at 1
                assertEquals("itest/pubsub/q" + qos + "=hello-" + qos + "@" + Math.min(qos, 1),
                        received.poll(10, TimeUnit.SECONDS));
            }
            // retained: stored, and delivered to a later subscriber with the retain flag
            MqttMessage r = new MqttMessage("kept".getBytes(StandardCharsets.UTF_8));
            r.setQos(1);
            r.setRetained(true);
            pub.publish("itest/pubsub/retained", r);
            assertEquals("itest/pubsub/retained=kept@1", received.poll(10, TimeUnit.SECONDS));
            MqttClient late = connect("broker-it-late", port);
            try {
                BlockingQueue<MqttMessage> lateReceived = new LinkedBlockingQueue<>();
                late.subscribe("itest/pubsub/retained", 1, (t, m) -> lateReceived.add(m));
                MqttMessage got = lateReceived.poll(10, TimeUnit.SECONDS);
                assertEquals("kept", new String(got.getPayload(), StandardCharsets.UTF_8));
                assertTrue("retain flag on a retained message sent at subscribe time", got.isRetained());
            } finally {
                closeQuietly(late);
            }
            assertTrue(broker().client("broker-it-sub").isPresent());
            assertEquals("itest-pubsub", broker().client("broker-it-sub").orElseThrow().listener());
        } finally {
            closeQuietly(pub);
            closeQuietly(sub);
            configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, "itest-pubsub", "?").delete();
        }
    }

    @Test
    public void listenerFactoryConfigurationOpensRebindsAndCloses() throws Exception {
        String name = "itest-dynamic";
        // create: opens on an ephemeral port
        Configuration cfg = putListener(name, 0);
        int first = awaitBound(name, 0);
        MqttClient early = connect("broker-it-early", first);
        try {
            assertTrue(early.isConnected());

            // update: rebinds to another port; the connection made through the old port stays up
            int second = freePort();
            assertNotEquals(first, second);
            putListener(name, second);
            awaitBound(name, second);
            assertEquals(1, broker().listeners().stream().filter(l -> l.name().equals(name)).count());
            await("old port " + first + " closed", () -> refused(first));
            MqttClient onSecond = connect("broker-it-second", second);
            closeQuietly(onSecond);
            assertTrue("connection opened before the rebind survives it", early.isConnected());
            assertTrue(broker().client("broker-it-early").isPresent());

            // delete: the listener and its connections are closed
            cfg.delete();
            await("listener " + name + " removed", () -> listener(name).isEmpty());
            await("port " + second + " closed", () -> refused(second));
            await("connection of the deleted listener closed", () -> !early.isConnected());
            assertFalse(broker().client("broker-it-early").isPresent());
        } finally {
            closeQuietly(early);
        }
    }
}
