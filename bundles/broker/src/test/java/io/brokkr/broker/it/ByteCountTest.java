package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.api.BrokerStats;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttVersion;
import org.junit.jupiter.api.Test;

/**
 * The broker's byte counters ({@code $SYS/broker/bytes/received} and {@code .../sent}) count every byte read from
 * and written to the socket, as they are on the wire: the CONNECT as the client sent it, CONNACK and PINGRESP as the
 * broker encoded them.
 */
class ByteCountTest extends BrokerTestBase {

    @Test
    void countsTheBytesOnTheWire() throws Exception {
        BrokerStats before = broker.stats();
        RawClient c = open();
        byte[] connect = Packets.rawConnect("MQTT", 4, 0x02, 0, null, Packets.utf8(id("b")));
        c.decodeAs(MqttVersion.MQTT_3_1_1);
        c.sendBytes(connect);
        c.expect(MqttMessageType.CONNACK);                // 4 bytes
        c.sendBytes(0xC0, 0x00);                          // PINGREQ
        c.expect(MqttMessageType.PINGRESP);               // 2 bytes
        long received = connect.length + 2;
        long sent = 4 + 2;
        long deadline = System.nanoTime() + 10_000_000_000L;
        BrokerStats now = broker.stats();
        while ((now.bytesReceived() - before.bytesReceived() != received
                || now.bytesSent() - before.bytesSent() != sent) && System.nanoTime() < deadline) {
            Thread.sleep(20); // the counters are updated on the connection's loop
            now = broker.stats();
        }
        assertEquals(received, now.bytesReceived() - before.bytesReceived(), "bytes received");
        assertEquals(sent, now.bytesSent() - before.bytesSent(), "bytes sent");
    }
}
