package io.brokkr.example.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.storage.RecordFormat;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The example interceptor in a real engine, seen by a real MQTT 5 subscriber. */
class JsonEnricherTest {

    Broker broker;
    MqttClient client;
    final BlockingQueue<String> got = new ArrayBlockingQueue<>(10);

    @BeforeEach
    void start() throws Exception {
        broker = new Broker(BrokerConfig.defaults().sysInterval(0));
        broker.start();
        int port = broker.openListener(ListenerConfig.tcp("t", "127.0.0.1", 0)).port();
        broker.setInterceptors(List.of(new JsonEnricher(List.of("sensors/#"), "receivedAt", false)));
        client = new MqttClient("tcp://127.0.0.1:" + port, "c", new MemoryPersistence());
        client.connect();
        client.subscribe(new MqttSubscription[] {new MqttSubscription("#", 1)},
                new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {
                    (t, m) -> got.add(t + " " + new String(m.getPayload(), StandardCharsets.UTF_8))});
    }

    @AfterEach
    void stop() throws Exception {
        client.disconnect();
        client.close();
        broker.stop();
    }

    private String roundTrip(String topic, String payload) throws Exception {
        long before = System.currentTimeMillis();
        client.publish(topic, new MqttMessage(payload.getBytes(StandardCharsets.UTF_8), 1, false, null));
        String s = got.poll(5, TimeUnit.SECONDS);
        assertTrue(s != null && s.startsWith(topic + " "), String.valueOf(s));
        String body = s.substring(topic.length() + 1);
        if (body.contains("receivedAt")) {
            Map<?, ?> m = (Map<?, ?>) RecordFormat.parseJson(body);
            Instant at = Instant.parse((String) m.get("receivedAt"));
            assertTrue(at.toEpochMilli() >= before && at.toEpochMilli() <= System.currentTimeMillis(), body);
        }
        return body;
    }

    @Test
    void jsonObjectsOnTheConfiguredTopicsGetTheReceivedTime() throws Exception {
        String out = roundTrip("sensors/t1", "{\"t\":21.5,\"unit\":\"C\"}");
        assertTrue(out.startsWith("{\"t\":21.5,\"unit\":\"C\",\"receivedAt\":\""), out);
    }

    @Test
    void otherPayloadsAndTopicsPassUnchanged() throws Exception {
        assertEquals("[1,2]", roundTrip("sensors/t1", "[1,2]"));
        assertEquals("{not json", roundTrip("sensors/t1", "{not json"));
        assertEquals("{\"t\":1}", roundTrip("other/t1", "{\"t\":1}"));
    }

    @Test
    void topicFilters() {
        assertTrue(TopicFilter.matches("sensors/#", "sensors/a/b"));
        assertTrue(TopicFilter.matches("sensors/#", "sensors"));
        assertTrue(TopicFilter.matches("a/+/c", "a/b/c"));
        assertTrue(!TopicFilter.matches("a/+", "a/b/c"));
        assertTrue(!TopicFilter.matches("#", "$SYS/x"));
    }
}
