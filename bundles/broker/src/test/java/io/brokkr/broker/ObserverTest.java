package io.brokkr.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ObserverInfo;
import io.brokkr.api.intercept.BrokerEvent;
import io.brokkr.api.intercept.BrokerEvent.Type;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.engine.ObserverQueue;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Asynchronous observers: the events and fields hook users expect, each observer on its own thread with a bounded
 * queue, a slow or throwing observer costing the clients nothing (its events are dropped and counted).
 */
class ObserverTest {

    private Broker broker;
    private int port;
    private final List<ObserverQueue> queues = new ArrayList<>();
    private final List<MqttClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        broker = TestBroker.start(BrokerConfig.defaults().sysInterval(0));
        port = TestBroker.port(broker);
    }

    @AfterEach
    void stop() throws Exception {
        for (MqttClient c : clients) {
            if (c.isConnected()) {
                c.disconnectForcibly(100, 100, false);
            }
            c.close(true);
        }
        broker.stop();
        for (ObserverQueue q : queues) {
            q.close(100);
        }
    }

    private ObserverQueue observe(String name, int capacity, Set<Type> types,
                                  io.brokkr.api.intercept.MessageObserver o) {
        ObserverQueue q = new ObserverQueue(name, o, capacity, types);
        queues.add(q);
        broker.setObservers(queues);
        return q;
    }

    private MqttClient client(String id, String user) throws Exception {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        if (user != null) {
            o.setUserName(user);
            o.setPassword("pw".getBytes(StandardCharsets.UTF_8));
        }
        c.connect(o);
        clients.add(c);
        return c;
    }

    private static BrokerEvent find(List<BrokerEvent> events, Type type, String clientId) {
        return events.stream().filter(e -> e.type() == type && clientId.equals(e.clientId())).findFirst()
                .orElse(null);
    }

    @Test
    void everyEventWithTheFieldsHookUsersExpect() throws Exception {
        List<BrokerEvent> events = new CopyOnWriteArrayList<>();
        observe("all", 1000, Set.of(), events::add);
        MqttClient sub = client("obs-sub", "alice");
        CountDownLatch got = new CountDownLatch(1);
        sub.subscribe(new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
            new org.eclipse.paho.mqttv5.common.MqttSubscription("h/#", 1)}, new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {
                (t, m) -> got.countDown()});
        MqttClient pub = client("obs-pub", "bob");
        MqttMessage m = new MqttMessage("{\"t\":21}".getBytes(StandardCharsets.UTF_8), 1, false, null);
        MqttProperties p = new MqttProperties();
        p.setUserProperties(List.of(new UserProperty("site", "north")));
        m.setProperties(p);
        long before = System.currentTimeMillis();
        pub.publish("h/1", m);
        assertTrue(got.await(5, TimeUnit.SECONDS));
        sub.unsubscribe("h/#");
        pub.disconnect();
        Await.until("disconnect event", 5000, () -> find(events, Type.DISCONNECTED, "obs-pub") != null);
        Await.until("sent event", 5000, () -> find(events, Type.MESSAGE_SENT, "obs-sub") != null);
        Await.until("unsubscribed event", 5000, () -> find(events, Type.UNSUBSCRIBED, "obs-sub") != null);

        BrokerEvent c = find(events, Type.CONNECTED, "obs-pub");
        assertNotNull(c);
        assertEquals("bob", c.username());

        BrokerEvent s = find(events, Type.SUBSCRIBED, "obs-sub");
        assertEquals("h/#", s.topicFilter());
        assertEquals(1, s.qos());

        BrokerEvent r = find(events, Type.MESSAGE_RECEIVED, "obs-pub");
        assertEquals("bob", r.username());
        assertEquals("obs-pub", r.senderClientId());
        assertEquals("bob", r.senderUsername());
        assertEquals("h/1", r.message().topic());
        assertEquals("{\"t\":21}", new String(r.message().payload(), StandardCharsets.UTF_8));
        assertEquals(1, r.message().qos());
        assertEquals(false, r.message().retain());
        assertEquals("north", r.message().userProperties().get(0).value());
        assertTrue(r.timestamp() >= before && r.timestamp() <= System.currentTimeMillis());
        assertEquals(Instant.ofEpochMilli(r.timestamp()).toString(), r.datetime());

        BrokerEvent sent = find(events, Type.MESSAGE_SENT, "obs-sub");
        assertEquals("alice", sent.username(), "the receiving client");
        assertEquals("obs-pub", sent.senderClientId());
        assertEquals("bob", sent.senderUsername());
        assertTrue(sent.packetId() > 0, "QoS 1 delivery has a packet id");
        assertEquals(1, sent.qos());

        assertEquals("h/#", find(events, Type.UNSUBSCRIBED, "obs-sub").topicFilter());
        assertTrue(find(events, Type.DISCONNECTED, "obs-pub").graceful());
    }

    @Test
    void aSlowOrFailingObserverCostsTheClientsNothingAndItsDropsAreCounted() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ObserverQueue slow = observe("slow", 5, Set.of(Type.MESSAGE_RECEIVED), e -> {
            try {
                release.await(); // stuck
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        });
        ObserverQueue failing = observe("failing", 1000, Set.of(Type.MESSAGE_RECEIVED), e -> {
            throw new IllegalStateException("boom");
        });
        List<BrokerEvent> fine = new CopyOnWriteArrayList<>();
        ObserverQueue good = observe("good", 1000, Set.of(Type.MESSAGE_RECEIVED), fine::add);
        MqttClient pub = client("obs-load", null);
        long t0 = System.nanoTime();
        for (int i = 0; i < 200; i++) {
            pub.publish("load/" + i, new MqttMessage(new byte[8], 1, false, null));
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(millis < 5000, "200 QoS 1 round trips took " + millis + " ms with a stuck observer");
        Await.until("good observer got all", 5000, () -> fine.size() == 200);
        ObserverInfo si = slow.info();
        assertEquals("slow", si.name());
        assertEquals(5, si.capacity());
        assertTrue(si.dropped() >= 200 - 6, "dropped for the stuck observer only: " + si);
        Await.until("failures counted", 5000, () -> failing.info().failed() == 200);
        assertEquals(0, good.info().dropped());
        assertEquals(200, good.info().delivered());
        assertTrue(broker.observers().stream().anyMatch(o -> o.name().equals("slow") && o.dropped() > 0));
        release.countDown();
    }

    @Test
    void eventTypesAreParsedWithAClearError() {
        assertEquals(Set.of(Type.MESSAGE_SENT, Type.CONNECTED), ObserverQueue.parseTypes("message_sent, connected"));
        assertEquals(Set.of(Type.MESSAGE_RECEIVED), ObserverQueue.parseTypes("message-received"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ObserverQueue.parseTypes("connected,published"));
        assertTrue(e.getMessage().contains("published"), e.getMessage());
    }
}
