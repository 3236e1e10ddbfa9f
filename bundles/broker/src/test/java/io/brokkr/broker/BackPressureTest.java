package io.brokkr.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A publisher faster than an online QoS 1 subscriber is slowed down (reads paused) instead of overflowing the
 * subscriber's queue, where acknowledged messages would be dropped; a stuck subscriber does not hold them back.
 */
class BackPressureTest {

    Broker broker;
    int port;

    @BeforeEach
    void start() {
        // queue of 100: without back-pressure most of the 1000 acknowledged messages would be dropped
        broker = new Broker(BrokerConfig.fromProperties(Map.of("max.queued.messages", "100", "sys.interval", "0")));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("bp", "127.0.0.1", 0)).port();
    }

    @AfterEach
    void stop() {
        broker.stop();
    }

    /** QoS 1, returns on PUBACK. */
    static void publish(MqttClient c, String topic, byte[] payload) throws Exception {
        while (true) {
            try {
                c.publish(topic, payload, 1, false);
                return;
            } catch (MqttException e) {
                if (e.getReasonCode() != MqttException.REASON_CODE_MAX_INFLIGHT) {
                    throw e;
                }
                Thread.sleep(1); // Paho completes the token a moment before it frees the inflight slot
            }
        }
    }

    @Test
    void stuckSubscriberDoesNotHoldPublishersBack() throws Exception {
        int n = 300;
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        MqttClient sub = new MqttClient("tcp://127.0.0.1:" + port, "bp-stuck", new MemoryPersistence());
        sub.connect(o);
        CountDownLatch release = new CountDownLatch(1);
        sub.subscribe("bp/#", 1, (t, m) -> release.await()); // acknowledges nothing until the end
        MqttClient pub = new MqttClient("tcp://127.0.0.1:" + port, "bp-pub2", new MemoryPersistence());
        pub.connect(o);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            publish(pub, "bp/t", String.valueOf(i).getBytes());
        }
        long secs = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        release.countDown();
        // throttled in 500 ms steps it would take minutes; the stall is detected after a second
        assertTrue(secs < 15, "publishing to a stuck subscriber took " + secs + " s");
        pub.disconnect();
        pub.close();
        sub.disconnectForcibly(1000);
        sub.close();
    }

    @Test
    void slowQos1SubscriberLosesNothing() throws Exception {
        int n = 1000;
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        MqttClient sub = new MqttClient("tcp://127.0.0.1:" + port, "bp-sub", new MemoryPersistence());
        sub.connect(o);
        Set<String> got = ConcurrentHashMap.newKeySet();
        sub.subscribe("bp/#", 1, (t, m) -> {
            got.add(new String(m.getPayload()));
            Thread.sleep(1); // PUBACK after the callback: about 1000 msgs/s at most
        });
        MqttClient pub = new MqttClient("tcp://127.0.0.1:" + port, "bp-pub", new MemoryPersistence());
        pub.connect(o);
        for (int i = 0; i < n; i++) {
            publish(pub, "bp/t", String.valueOf(i).getBytes());
        }
        // wait while the subscriber makes progress
        int last = -1;
        long lastChange = System.nanoTime();
        while (got.size() < n && System.nanoTime() - lastChange < TimeUnit.SECONDS.toNanos(3)) {
            if (got.size() != last) {
                last = got.size();
                lastChange = System.nanoTime();
            }
            Thread.sleep(20);
        }
        assertEquals(n, got.size(), "every acknowledged message reaches the subscriber");
        assertEquals(0, broker.stats().messagesDropped());
        pub.disconnect();
        sub.disconnect();
        pub.close();
        sub.close();
    }
}
