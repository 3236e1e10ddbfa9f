package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.config.ListenerConfig;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What clients see when the broker stops or a listener is closed: each test runs its own broker. */
class ShutdownTest {

    private Broker broker;
    private final List<RawClient> clients = new ArrayList<>();

    private int start() {
        broker = TestBroker.start(Map.of("sys.interval", "0"));
        return TestBroker.port(broker);
    }

    private RawClient track(RawClient c) {
        clients.add(c);
        return c;
    }

    @AfterEach
    void cleanUp() {
        clients.forEach(RawClient::close);
        if (broker != null) {
            broker.stop();
        }
    }

    private static void assertServerShuttingDown(RawClient c) throws InterruptedException {
        MqttMessage m = c.expect(MqttMessageType.DISCONNECT);
        assertEquals(0x8B, Packets.reasonCode(m), "reason code Server shutting down");
        assertEquals("server shutting down",
                Packets.stringProp(((io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader)
                        m.variableHeader()).properties(), MqttPropertyType.REASON_STRING));
        assertTrue(c.awaitClosed(), "connection closed after the DISCONNECT");
    }

    @Test
    void brokerStopSendsServerShuttingDownToMqtt5Clients() throws Exception {
        int port = start();
        RawClient v5 = track(RawClient.v5(port, "sd-v5"));
        RawClient v5b = track(RawClient.connect(port, Packets.connect5("sd-v5b", false, 300)));
        v5b.subscribe(1, "sd/#", 1);
        RawClient v311 = track(RawClient.v311(port, "sd-v311"));
        RawClient v31 = track(RawClient.connect(port,
                Packets.connect(MqttVersion.MQTT_3_1, "sd-v31", true, 10, null)));
        RawClient silent = track(RawClient.open(port)); // TCP only, no CONNECT yet
        assertTrue(v5.drainUntilPing().isEmpty());
        assertTrue(v311.drainUntilPing().isEmpty());

        long t0 = System.nanoTime();
        broker.stop();
        long millis = (System.nanoTime() - t0) / 1_000_000;

        assertServerShuttingDown(v5);
        assertServerShuttingDown(v5b);
        v311.assertClosedWithoutPackets(); // 3.x has no server DISCONNECT: just closed
        v31.assertClosedWithoutPackets();
        silent.assertClosedWithoutPackets(); // no CONNACK, so no DISCONNECT either
        assertTrue(millis < 5_000, "stop took " + millis + " ms");
        broker.stop(); // idempotent
    }

    @Test
    void closingAListenerSendsServerShuttingDown() throws Exception {
        int port = start();
        int otherPort = broker.openListener(ListenerConfig.tcp("other", "127.0.0.1", 0)).port();
        RawClient v5 = track(RawClient.v5(port, "sl-v5"));
        RawClient v311 = track(RawClient.v311(port, "sl-v311"));
        List<RawClient> more = new ArrayList<>(); // on every event loop: the listener finds its connections there
        List<RawClient> others = new ArrayList<>(); // another listener's connections, on the same loops
        for (int i = 0; i < 6; i++) {
            more.add(track(RawClient.v5(port, "sl-more" + i)));
            others.add(track(RawClient.v5(otherPort, "sl-other" + i)));
        }
        assertTrue(v5.drainUntilPing().isEmpty());
        broker.closeListener("test");
        assertServerShuttingDown(v5);
        v311.assertClosedWithoutPackets();
        for (RawClient c : more) {
            assertServerShuttingDown(c);
        }
        for (RawClient c : others) {
            assertTrue(c.drainUntilPing().isEmpty(), "the other listener's connection stays open");
        }
        assertEquals(6, broker.listener("other").info().connections(), "the other listener's count");
        // the broker itself keeps running: a new listener accepts clients
        int port2 = broker.openListener(ListenerConfig.tcp("again", "127.0.0.1", 0)).port();
        RawClient again = track(RawClient.v5(port2, "sl-again"));
        assertTrue(again.drainUntilPing().isEmpty());
    }
}
