package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The management side of BrokerService (what the mqtt:* shell commands call) seen from real clients. */
class AdminTest extends BrokerTestBase {

    @Test
    void kickSendsAdministrativeActionToMqtt5ClientsAndClosesMqtt3Clients() throws Exception {
        RawClient v5 = v5("k5");
        RawClient v3 = v311("k3");
        assertTrue(broker.kick(id("k5"), false));
        assertEquals(0x98, v5.expectDisconnect());
        assertTrue(broker.kick(id("k3"), false));
        assertTrue(v3.awaitClosed());
        assertFalse(broker.kick("no-such-client", false));
    }

    @Test
    void kickWithSessionRemovalForgetsAPersistentSession() throws Exception {
        RawClient sub = connect(Packets.connect(io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1, id("p"), false,
                30, null));
        sub.subscribe(1, "admin/kick/#", 1);
        assertTrue(broker.kick(id("p"), true));
        assertTrue(sub.awaitClosed());
        awaitSessionGone(id("p"), RawClient.TIMEOUT_MS);
        assertTrue(broker.subscriptions().stream().noneMatch(s -> s.clientId().equals(id("p"))));
    }

    @Test
    void publishFromInsideReachesSubscribersWithItsProperties() throws Exception {
        RawClient sub = v5("s");
        sub.subscribe(1, "admin/pub/+", 1);
        MessageProperties props = new MessageProperties(null, null, "text/plain", "admin/reply", null, List.of());
        Message m = new Message("admin/pub/x", "hi".getBytes(StandardCharsets.UTF_8), 1, false, props, null,
                System.currentTimeMillis());
        assertEquals(1, broker.publish(m));
        MqttPublishMessage p = sub.expectPublish("admin/pub/x", "hi");
        assertEquals(1, p.fixedHeader().qosLevel().value());
        sub.acknowledge(p);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> broker.publish(Message.of("admin/+", new byte[0], 0, false)));
        assertTrue(e.getMessage().contains("invalid topic name"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> broker.publish(m.withProperties(
                new MessageProperties(null, null, null, "reply/#", null, List.of()))));
        assertTrue(e.getMessage().contains("invalid response topic 'reply/#'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> broker.retained("$share/g/admin/#"));
        assertTrue(e.getMessage().contains("shared subscription filters cannot select retained messages"));
    }
}
