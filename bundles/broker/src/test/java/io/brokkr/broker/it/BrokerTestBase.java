package io.brokkr.broker.it;

import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.engine.Broker;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * Each protocol test class runs its own broker with a TCP listener on 127.0.0.1, ephemeral port. Subclasses tune
 * the broker with {@link #config()}; clients a test opens through the helpers are closed after the test. Client ids
 * are made unique per test method so that sessions of one test never meet those of another.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BrokerTestBase {

    private static final AtomicInteger SEQ = new AtomicInteger();

    Broker broker;
    int port;
    String uri;
    private final List<AutoCloseable> clients = new ArrayList<>();
    private String prefix = "t";

    /** Broker configuration keys (as in etc/io.brokkr.broker.cfg). $SYS is off unless a class turns it on. */
    Map<String, String> config() {
        Map<String, String> m = new HashMap<>();
        m.put("sys.interval", "0");
        return m;
    }

    @BeforeAll
    void startBroker() {
        broker = TestBroker.start(config());
        port = TestBroker.port(broker);
        uri = "tcp://127.0.0.1:" + port;
    }

    @AfterAll
    void stopBroker() {
        broker.stop();
    }

    @BeforeEach
    void name(TestInfo info) {
        prefix = info.getTestMethod().map(m -> m.getName()).orElse("t");
        if (prefix.length() > 14) {
            prefix = prefix.substring(0, 14);
        }
        prefix = prefix + SEQ.incrementAndGet();
    }

    @AfterEach
    void closeClients() {
        for (AutoCloseable c : clients) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        clients.clear();
    }

    /** A client id unique to this test method (at most 23 characters for the short suffixes used). */
    String id(String suffix) {
        return prefix + "-" + suffix;
    }

    <T extends AutoCloseable> T track(T c) {
        clients.add(c);
        return c;
    }

    RawClient open() throws InterruptedException {
        return track(RawClient.open(port));
    }

    RawClient connect(MqttConnectMessage connect) throws InterruptedException {
        return track(RawClient.connect(port, connect));
    }

    RawClient v5(String suffix) throws InterruptedException {
        return track(RawClient.v5(port, id(suffix)));
    }

    RawClient v311(String suffix) throws InterruptedException {
        return track(RawClient.v311(port, id(suffix)));
    }

    RawClient v31(String suffix) throws InterruptedException {
        return track(RawClient.connect(port, Packets.connect(MqttVersion.MQTT_3_1, id(suffix), true, 10, null)));
    }

    /**
     * Waits until the broker has processed the end of the client's connection (its session, if any, is detached):
     * after this, a will or anything else the close caused has been handed to the subscribers' event loops.
     */
    void awaitOffline(String clientId) throws Exception {
        Await.until("client " + clientId + " offline", RawClient.TIMEOUT_MS,
                () -> broker.clients().stream().noneMatch(c -> c.clientId().equals(clientId)));
    }

    /** Waits until the broker no longer has a session for the client id (expired or ended). */
    void awaitSessionGone(String clientId, long timeoutMillis) throws Exception {
        Await.until("session " + clientId + " gone", timeoutMillis, () -> !hasSession(clientId));
    }

    /** True if the broker has a session (online or offline) for the client id. */
    boolean hasSession(String clientId) {
        return broker.sessions().stream().anyMatch(c -> c.clientId().equals(clientId));
    }

    private int fenceId = 60_000;

    /**
     * Everything {@code sub} received from {@code pub}'s earlier publications, without sleeping: subscribes
     * {@code sub} to a fresh marker topic, has {@code pub} publish a QoS 0 marker there and collects {@code sub}'s
     * packets until the marker. The broker routes one publisher's messages in order and hands them to a subscriber's
     * event loop in order, so anything {@code pub} published before the marker and routed to {@code sub} is in the
     * list. (A PINGREQ fence is not enough when the publisher's session runs on another event loop.) {@code pub} must
     * not have subscriptions of its own (its PUBACK is expected next).
     */
    List<MqttMessage> receivedBefore(RawClient sub, RawClient pub) throws InterruptedException {
        String marker = "fence/" + prefix + "/" + (++fenceId);
        List<MqttMessage> before = new ArrayList<>();
        sub.send(io.netty.handler.codec.mqtt.MqttMessageBuilders.subscribe().messageId(fenceId)
                .addSubscription(io.netty.handler.codec.mqtt.MqttQoS.AT_MOST_ONCE, marker).build());
        while (true) {
            MqttMessage m = sub.poll(RawClient.TIMEOUT_MS);
            if (m == null) {
                throw new AssertionError("no SUBACK for the marker subscription");
            }
            if (m.fixedHeader().messageType() == MqttMessageType.SUBACK && Packets.packetId(m) == fenceId) {
                break;
            }
            before.add(m);
        }
        pub.publish1(marker, "marker", fenceId);
        while (true) {
            MqttMessage m = sub.poll(RawClient.TIMEOUT_MS);
            if (m == null) {
                throw new AssertionError("marker not received");
            }
            if (m instanceof MqttPublishMessage p && p.variableHeader().topicName().equals(marker)) {
                return before;
            }
            before.add(m);
        }
    }

    /**
     * Everything handed to {@code sub}'s event loop before this call, whatever published it (a will, a connection
     * that is gone, $SYS), without sleeping: {@link #receivedBefore} with two fresh publishers connected one after
     * the other. Netty assigns connections to the event loops round robin, so at least one of them runs on another
     * loop than {@code sub} (with a single loop, everything is in order anyway); the delivery of its marker is a task
     * queued on {@code sub}'s loop behind every delivery handed to it before.
     */
    List<MqttMessage> fence(RawClient sub) throws InterruptedException {
        RawClient p1 = v5("f" + (fenceId + 1));
        RawClient p2 = v5("f" + (fenceId + 2));
        List<MqttMessage> before = receivedBefore(sub, p1);
        before.addAll(receivedBefore(sub, p2));
        p1.disconnect();
        p2.disconnect();
        return before;
    }

    /**
     * Reads {@code publishers * n} PUBLISHes whose payloads are "publisher/number" and acknowledges each, asserting
     * that every publisher's numbers arrive in order from {@code first}, none missing.
     */
    static void readNumberedInOrder(RawClient sub, int publishers, int n, int first) throws InterruptedException {
        int[] next = new int[publishers];
        java.util.Arrays.fill(next, first);
        for (int k = 0; k < publishers * n; k++) {
            MqttPublishMessage m = sub.expectPublish();
            String[] parts = Packets.text(m).split("/");
            int p = Integer.parseInt(parts[0]);
            org.junit.jupiter.api.Assertions.assertEquals(next[p]++, Integer.parseInt(parts[1]),
                    "publisher " + p + ": in order, none missing");
            sub.acknowledge(m);
        }
    }

    /** MQTT 5, Clean Start false, the given session expiry. */
    RawClient v5Persistent(String suffix, long expiry, boolean cleanStart) throws InterruptedException {
        return track(RawClient.connect(port, Packets.connect5(id(suffix), cleanStart, expiry)));
    }
}
