package io.brokkr.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The basic round trip through a real socket with Paho 3.1.1, for every QoS. */
class SmokeTest {

    static Broker broker;
    static int port;

    @BeforeAll
    static void start() {
        broker = TestBroker.start(BrokerConfig.defaults().sysInterval(1));
        port = TestBroker.port(broker);
    }

    @AfterAll
    static void stop() {
        broker.stop();
    }

    @Test
    void publishSubscribeAllQos() throws Exception {
        MqttClient sub = new MqttClient("tcp://127.0.0.1:" + port, "smoke-sub", new MemoryPersistence());
        MqttClient pub = new MqttClient("tcp://127.0.0.1:" + port, "smoke-pub", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        sub.connect(o);
        pub.connect(o);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        sub.subscribe("smoke/#", 2, (t, m) -> got.add(t + "=" + new String(m.getPayload(), StandardCharsets.UTF_8)
                + "@" + m.getQos()));
        for (int q = 0; q <= 2; q++) {
            pub.publish("smoke/q" + q, ("m" + q).getBytes(StandardCharsets.UTF_8), q, false);
            assertEquals("smoke/q" + q + "=m" + q + "@" + q, got.poll(5, TimeUnit.SECONDS));
        }
        assertTrue(broker.clients().stream().anyMatch(c -> c.clientId().equals("smoke-sub")));
        pub.disconnect();
        sub.disconnect();
        pub.close();
        sub.close();
    }
}
