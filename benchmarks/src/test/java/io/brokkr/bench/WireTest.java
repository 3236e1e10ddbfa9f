package io.brokkr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import org.junit.jupiter.api.Test;

/** The hand-rolled hot-path encoding is what netty-codec-mqtt decodes (runs in milliseconds, no sockets). */
class WireTest {

    @Test
    void publishDecodesWithNettyCodec() {
        publishDecodes(false);
    }

    @Test
    void v5PublishDecodesWithNettyCodec() {
        publishDecodes(true);
    }

    private static void publishDecodes(boolean v5) {
        for (int qos = 0; qos <= 2; qos++) {
            for (int payload : new int[] {16, 64, 110, 200, 20_000}) {
                byte[] topic = ("bench/x/" + qos).getBytes();
                ByteBuf buf = Unpooled.buffer();
                Wire.writePublish(buf, topic, qos, qos == 0 ? 0 : 4242, payload, 123456789L, 3, 77, v5);
                assertEquals(Wire.publishSize(topic.length, qos, payload, v5), buf.readableBytes());
                EmbeddedChannel ch = v5 ? v5Decoder() : new EmbeddedChannel(new MqttDecoder(1 << 20));
                ch.writeInbound(buf);
                MqttPublishMessage m = ch.readInbound();
                assertFalse(m.decoderResult().isFailure(), () -> String.valueOf(m.decoderResult().cause()));
                assertTrue(m.variableHeader().properties().isEmpty());
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

    /**
     * A decoder that has decoded the load tool's MQTT 5.0 CONNECT, so that it decodes what follows as 5.0 (as the
     * broker does). The CONNECT carries a Session Expiry Interval and Clean Start 0, as a persistent subscriber's.
     */
    private static EmbeddedChannel v5Decoder() {
        EmbeddedChannel enc = new EmbeddedChannel(MqttEncoder.INSTANCE);
        enc.writeOutbound(BenchClient.connectMessage("bench-c", true, false, 300));
        ByteBuf connect = enc.readOutbound();
        enc.finishAndReleaseAll();
        EmbeddedChannel ch = new EmbeddedChannel(new MqttDecoder(1 << 20));
        ch.writeInbound(connect);
        MqttConnectMessage c = ch.readInbound();
        assertFalse(c.decoderResult().isFailure(), () -> String.valueOf(c.decoderResult().cause()));
        assertEquals(MqttVersion.MQTT_5.protocolLevel(), (byte) c.variableHeader().version());
        assertEquals("bench-c", c.payload().clientIdentifier());
        assertFalse(c.variableHeader().isCleanSession());
        assertEquals(300, c.variableHeader().properties()
                .getProperty(MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL.value()).value());
        return ch;
    }

    @Test
    void connectDecodesWithNettyCodec() {
        for (boolean v5 : new boolean[] {false, true}) {
            for (boolean clean : new boolean[] {false, true}) {
                EmbeddedChannel enc = new EmbeddedChannel(MqttEncoder.INSTANCE);
                enc.writeOutbound(BenchClient.connectMessage("bench-c", v5, clean, clean ? 0 : 60));
                ByteBuf connect = enc.readOutbound();
                enc.finishAndReleaseAll();
                EmbeddedChannel ch = new EmbeddedChannel(new MqttDecoder());
                ch.writeInbound(connect);
                MqttConnectMessage c = ch.readInbound();
                assertFalse(c.decoderResult().isFailure());
                assertEquals((v5 ? MqttVersion.MQTT_5 : MqttVersion.MQTT_3_1_1).protocolLevel(),
                        (byte) c.variableHeader().version());
                assertEquals(clean, c.variableHeader().isCleanSession());
                assertEquals(0, c.variableHeader().keepAliveTimeSeconds());
                MqttProperties.MqttProperty<?> expiry = c.variableHeader().properties()
                        .getProperty(MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL.value());
                if (v5 && !clean) {
                    assertEquals(60, expiry.value());
                } else {
                    assertEquals(null, expiry);
                }
                ch.finishAndReleaseAll();
            }
        }
    }

    @Test
    void acksDecodeWithNettyCodec() {
        acksDecode(false);
    }

    /** 5.0 acknowledgements with Remaining Length 2 mean Reason Code 0x00 Success (MQTT 5.0 section 3.4.2.1). */
    @Test
    void v5AcksDecodeWithNettyCodec() {
        acksDecode(true);
    }

    private static void acksDecode(boolean v5) {
        int[] types = {Wire.PUBACK, Wire.PUBREC, Wire.PUBREL, Wire.PUBCOMP};
        MqttMessageType[] expected = {MqttMessageType.PUBACK, MqttMessageType.PUBREC, MqttMessageType.PUBREL,
                MqttMessageType.PUBCOMP};
        for (int i = 0; i < types.length; i++) {
            ByteBuf buf = Unpooled.buffer();
            Wire.writeAck(buf, types[i], 65_535);
            EmbeddedChannel ch = v5 ? v5Decoder() : new EmbeddedChannel(new MqttDecoder());
            ch.writeInbound(buf);
            MqttMessage m = ch.readInbound();
            assertFalse(m.decoderResult().isFailure(), () -> String.valueOf(m.decoderResult().cause()));
            assertEquals(expected[i], m.fixedHeader().messageType());
            assertEquals(65_535, ((MqttMessageIdVariableHeader) m.variableHeader()).messageId());
            if (v5) {
                assertEquals(0, ((MqttPubReplyMessageVariableHeader) m.variableHeader()).reasonCode());
            }
            ch.finishAndReleaseAll();
        }
    }
}
