package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import org.junit.jupiter.api.Test;

/**
 * The broker's own keep alive timer (one timer per connection, re-armed from the time of the last read): a client
 * that keeps talking stays connected well past one and a half keep alives, and is disconnected once it falls silent
 * [MQTT-3.1.2-22].
 */
class KeepAliveTimerTest extends BrokerTestBase {

    private static MqttMessage pingreq() {
        return new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGREQ, false, MqttQoS.AT_MOST_ONCE, false, 0));
    }

    @Test
    void pingingClientStaysConnectedThenSilenceDisconnects() throws Exception {
        RawClient c = open();
        assertEquals(0, c.connack(Packets.connect(MqttVersion.MQTT_5, id("p"), true, 1, null))
                .variableHeader().connectReturnCode().byteValue());
        // 4 s of pings every 400 ms: more than twice the 1.5 s allowed silence, so the timer must have re-armed
        long end = System.nanoTime() + 4_000_000_000L;
        while (System.nanoTime() < end) {
            c.send(pingreq());
            c.expect(MqttMessageType.PINGRESP);
            Thread.sleep(400);
        }
        assertTrue(c.isOpen(), "a client that pings is not disconnected");
        long silentSince = System.nanoTime();
        assertEquals(0x8D, c.expectDisconnect()); // Keep Alive timeout
        long silentMillis = (System.nanoTime() - silentSince) / 1_000_000;
        assertTrue(silentMillis >= 1_000, "disconnected after only " + silentMillis + " ms of silence");
    }

    @Test
    void anyReadCountsNotOnlyPings() throws Exception {
        RawClient c = open();
        assertEquals(0, c.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("s"), true, 1, null))
                .variableHeader().connectReturnCode().byteValue());
        long end = System.nanoTime() + 3_500_000_000L;
        int id = 1;
        while (System.nanoTime() < end) {
            c.subscribe(id++, "ka/" + id, 0);
            Thread.sleep(400);
        }
        assertTrue(c.isOpen(), "a client that sends packets is not disconnected");
        assertTrue(c.awaitClosed(), "closed once silent");
    }
}
