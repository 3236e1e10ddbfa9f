package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ClientInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code type = wss}: MQTT over WebSocket over TLS, with the keys of a TLS listener and the path of a WebSocket one.
 * MQTT.js under node (trusting the test CA through NODE_EXTRA_CA_CERTS) and Paho 3.1.1 over wss:// with and without a
 * client certificate ({@code client.auth = need}), to and from a client over plain TCP.
 */
class WssListenerTest extends TlsTestBase {

    int wss;
    int wssNeed;

    @BeforeAll
    void listeners() {
        NodeClient.checkInstalled();
        wss = wssListener("wss", pemOptions("path", "/mqtt"));
        wssNeed = wssListener("wss-need", pemOptions("client.auth", "need"));
    }

    private int wssListener(String name, Map<String, String> options) {
        broker.openListener(new io.brokkr.broker.config.ListenerConfig(name, "wss", "127.0.0.1", 0, null, options));
        return broker.listeners().stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow().port();
    }

    @Test
    void mqttJsOverWssRoundTrip() throws Exception {
        String prefix = "wss/" + id("rt");
        List<String> messages;
        try (NodeClient node = NodeClient.start(Map.of("CLIENT_ID", id("js"), "NODE_EXTRA_CA_CERTS",
                certs.ca.cert().toString()), "wss://localhost:" + wss + "/mqtt", "roundtrip", prefix)) {
            messages = new ArrayList<>(node.finish().stream().filter(l -> l.startsWith("{")).toList());
        }
        messages.sort(null);
        assertEquals(3, messages.size(), messages.toString());
        for (int q = 0; q < 3; q++) {
            assertEquals("{\"topic\":\"" + prefix + "/q" + q + "\",\"payload\":\"hello " + q + "\",\"qos\":" + q
                    + ",\"userProperties\":{\"source\":\"mqtt.js\"}}", messages.get(q));
        }
    }

    @Test
    void mqttJsRefusesAServerItDoesNotTrust() throws Exception {
        try (NodeClient node = NodeClient.start(Map.of("CLIENT_ID", id("js2")), "wss://localhost:" + wss + "/mqtt",
                "pub", "wss/x", "m", "1")) {
            List<String> out = new ArrayList<>();
            Throwable t = assertThrows(Throwable.class, () -> out.addAll(node.finish()));
            assertTrue(String.valueOf(t.getMessage()).contains("ERROR"), String.valueOf(t.getMessage()));
        }
    }

    @Test
    void pahoOverWssWithAClientCertificateToTcp() throws Exception {
        String topic = "wss/" + id("p");
        BlockingQueue<String> got = new ArrayBlockingQueue<>(2);
        MqttClient tcp = new MqttClient(uri, id("tcp"), new MemoryPersistence());
        MqttClient ws = new MqttClient("wss://localhost:" + wssNeed + "/mqtt", id("wss"), new MemoryPersistence());
        try {
            tcp.connect();
            tcp.subscribe(topic, 1, (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)));
            MqttConnectOptions o = new MqttConnectOptions();
            o.setSocketFactory(certs.clientContext(certs.client).getSocketFactory());
            ws.connect(o);
            ws.publish(topic, "over wss".getBytes(StandardCharsets.UTF_8), 1, false);
            assertEquals("over wss", got.poll(10, TimeUnit.SECONDS));
            ClientInfo info = broker.clients().stream().filter(c -> c.clientId().equals(id("wss"))).findFirst()
                    .orElseThrow();
            assertEquals("wss-need", info.listener());
        } finally {
            ws.disconnect();
            ws.close();
            tcp.disconnect();
            tcp.close();
        }
        // no client certificate on a client.auth = need listener: the handshake fails
        MqttClient bare = new MqttClient("wss://localhost:" + wssNeed + "/mqtt", id("bare"), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setSocketFactory(certs.clientContext(null).getSocketFactory());
        o.setConnectionTimeout(10);
        assertThrows(MqttException.class, () -> bare.connect(o));
        bare.close();
    }
}
