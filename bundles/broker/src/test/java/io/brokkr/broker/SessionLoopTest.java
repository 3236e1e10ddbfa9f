package io.brokkr.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.session.Session;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A client that resumes its persistent session is served on the session's event loop: its channel moves there at
 * CONNECT, so that its packets and its session state share one thread (no hop per packet or per write).
 */
class SessionLoopTest {

    /**
     * The next message, skipping a redelivery of {@code previous}: QoS 1 is at least once, and Paho may disconnect
     * before its PUBACK for the last message went out, which the broker then resends with DUP on reconnect.
     */
    private static String nextNew(BlockingQueue<String> got, String previous) throws InterruptedException {
        String m = got.poll(5, TimeUnit.SECONDS);
        while (previous.equals(m)) {
            m = got.poll(5, TimeUnit.SECONDS);
        }
        return m;
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {true, false})
    void resumedSessionAndItsConnectionShareOneLoop(boolean nativeTransport) throws Exception {
        Broker broker = new Broker(BrokerConfig.defaults().sysInterval(0).ioThreads(2)
                .nativeTransport(nativeTransport));
        broker.start();
        try {
            int port = broker.openListener(ListenerConfig.tcp("loop", "127.0.0.1", 0)).port();
            String uri = "tcp://127.0.0.1:" + port;
            MqttConnectOptions persistent = new MqttConnectOptions();
            persistent.setCleanSession(false);
            MqttClient pub = new MqttClient(uri, "loop-pub-" + nativeTransport, new MemoryPersistence());
            pub.connect();
            MqttClient sub = new MqttClient(uri, "loop-sub-" + nativeTransport, new MemoryPersistence());
            BlockingQueue<String> got = new ArrayBlockingQueue<>(100);
            sub.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
                @Override
                public void connectionLost(Throwable cause) {
                }

                @Override
                public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
                    got.add(new String(m.getPayload(), StandardCharsets.UTF_8));
                }

                @Override
                public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
                }
            });
            sub.connect(persistent);
            sub.subscribe("loop/#", 1);
            // connections are accepted round robin over the two loops: some of these reconnects land on the other
            for (int i = 0; i < 6; i++) {
                sub.disconnect();
                pub.publish("loop/x", ("offline-" + i).getBytes(StandardCharsets.UTF_8), 1, false);
                sub.connect(persistent);
                assertEquals("offline-" + i, nextNew(got, "online-" + (i - 1)), "queued message after reconnect " + i);
                Session s = broker.session(sub.getClientId());
                assertNotNull(s);
                assertSame(s.loop, s.connection.channel().eventLoop(), "connection on its session's loop");
                pub.publish("loop/x", ("online-" + i).getBytes(StandardCharsets.UTF_8), 1, false);
                assertEquals("online-" + i, nextNew(got, "offline-" + i), "live message after reconnect " + i);
            }
            assertTrue(broker.counters().connectionsMoved.sum() > 0, "no reconnect landed on the other loop");
            sub.disconnect();
            pub.disconnect();
            sub.close();
            pub.close();
        } finally {
            broker.stop();
        }
    }
}
