package io.brokkr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import org.junit.jupiter.api.Test;

/** The hand-rolled hot-path encoding is what netty-codec-mqtt decodes (runs in milliseconds, no sockets). */
class WireTest {

    @Test
    void publishDecodesWithNettyCodec() {
        for (int qos = 0; qos <= 2; qos++) {
            for (int payload : new int[] {16, 64, 200, 20_000}) {
                byte[] topic = ("bench/x/" + qos).getBytes();
                ByteBuf buf = Unpooled.buffer();
                Wire.writePublish(buf, topic, qos, qos == 0 ? 0 : 4242, payload, 123456789L, 3, 77);
                assertEquals(Wire.publishSize(topic.length, qos, payload), buf.readableBytes());
                EmbeddedChannel ch = new EmbeddedChannel(new MqttDecoder(1 << 20));
                ch.writeInbound(buf);
                MqttPublishMessage m = ch.readInbound();
                assertEquals("bench/x/" + qos, m.variableHeader().topicName());
                assertEquals(qos, m.fixedHeader().qosLevel().value());
                assertEquals(qos == 0 ? -1 : 4242, m.variableHeader().packetId());
                assertEquals(payload, m.payload().readableBytes());
                assertEquals(123456789L, m.payload().getLong(m.payload().readerIndex()));
                assertEquals(3, m.payload().getInt(m.payload().readerIndex() + 8));
                assertEquals(77, m.payload().getInt(m.payload().readerIndex() + 12));
                m.release();
                ch.finishAndReleaseAll();
            }
        }
    }

    @Test
    void acksDecodeWithNettyCodec() {
        int[] types = {Wire.PUBACK, Wire.PUBREC, Wire.PUBREL, Wire.PUBCOMP};
        MqttMessageType[] expected = {MqttMessageType.PUBACK, MqttMessageType.PUBREC, MqttMessageType.PUBREL,
                MqttMessageType.PUBCOMP};
        for (int i = 0; i < types.length; i++) {
            ByteBuf buf = Unpooled.buffer();
            Wire.writeAck(buf, types[i], 65_535);
            EmbeddedChannel ch = new EmbeddedChannel(new MqttDecoder());
            ch.writeInbound(buf);
            MqttMessage m = ch.readInbound();
            assertEquals(expected[i], m.fixedHeader().messageType());
            assertEquals(65_535, ((MqttMessageIdVariableHeader) m.variableHeader()).messageId());
            ch.finishAndReleaseAll();
        }
    }
}
