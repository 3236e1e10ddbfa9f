package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.broker.TestBroker;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/**
 * What the management API ({@code clients()}, {@code mqtt:clients}) tells about a connected client: its CONNECT as
 * the broker accepted it (the keep alive after the server's cap), its address and listener, the time it was
 * accepted; the same (equal) value on every call while it stays connected.
 */
class ClientInfoTest extends BrokerTestBase {

    private ClientInfo info(String clientId) {
        return broker.clients().stream().filter(c -> c.clientId().equals(clientId)).findFirst().orElseThrow();
    }

    @Test
    void describesTheAcceptedConnect() throws Exception {
        long before = System.currentTimeMillis();
        RawClient v5 = open();
        String id5 = id("five");
        assertEquals(0, RawClient.returnCode(v5.connack(MqttMessageBuilders.connect()
                .protocolVersion(MqttVersion.MQTT_5).clientId(id5).cleanSession(true).keepAlive(0)
                .hasUser(true).username("alice").build())));
        RawClient v3 = open();
        String id3 = id("three");
        assertEquals(0, RawClient.returnCode(v3.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id3, false, 30,
                null))));
        long after = System.currentTimeMillis();

        ClientInfo five = info(id5);
        InetSocketAddress a5 = v5.localAddress();
        assertEquals(new ClientInfo(id5, "alice", a5.getAddress().getHostAddress() + ":" + a5.getPort(),
                TestBroker.LISTENER, ProtocolVersion.MQTT_5, true, 60, five.connectedAt()), five,
                "keep alive 0 becomes the server's keepalive.max (60 s)");
        assertTrue(five.connectedAt() >= before && five.connectedAt() <= after, "connected at " + five.connectedAt());

        ClientInfo three = info(id3);
        InetSocketAddress a3 = v3.localAddress();
        assertEquals(new ClientInfo(id3, null, a3.getAddress().getHostAddress() + ":" + a3.getPort(),
                TestBroker.LISTENER, ProtocolVersion.MQTT_3_1_1, false, 30, three.connectedAt()), three);

        assertEquals(five, info(id5), "the same on every call");
        v5.disconnect();
        awaitOffline(id5);
        assertTrue(broker.clients().stream().noneMatch(c -> c.clientId().equals(id5)), "gone once disconnected");
        assertEquals(three, info(id3));
    }
}
