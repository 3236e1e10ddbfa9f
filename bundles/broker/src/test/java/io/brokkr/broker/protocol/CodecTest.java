package io.brokkr.broker.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.brokkr.broker.session.Delivery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Codec edge cases: the packet size arithmetic must equal what Netty's encoder produces, properties round trip. */
class CodecTest {

    private static final AttributeKey<MqttVersion> VERSION = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

    private static int encodedSize(String topic, int qos, boolean v5, MqttProperties props, int payload) {
        EmbeddedChannel ch = new EmbeddedChannel(MqttEncoder.INSTANCE);
        ch.attr(VERSION).set(v5 ? MqttVersion.MQTT_5 : MqttVersion.MQTT_3_1_1);
        ch.writeOutbound(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false,
                MqttQoS.valueOf(qos), false, 0), new MqttPublishVariableHeader(topic, qos > 0 ? 7 : 0, props),
                Unpooled.wrappedBuffer(new byte[payload])));
        ByteBuf out = ch.readOutbound();
        int size = out.readableBytes();
        out.release();
        ch.finishAndReleaseAll();
        return size;
    }

    @Test
    void publishSizeMatchesEncoder() {
        MessageProperties rich = new MessageProperties(1, 60L, "text/plain; charset=utf-8", "reply/ä/to",
                new byte[] {1, 2, 3}, List.of(new UserProperty("k", "v"), new UserProperty("ключ", "значение")));
        int[][] idSets = {{}, {1}, {1, 300, 70_000, 268_435_455}};
        for (int payload : new int[] {0, 1, 126, 127, 128, 16_383, 16_384, 2_097_152}) {
            for (int qos = 0; qos <= 2; qos++) {
                for (boolean v5 : new boolean[] {false, true}) {
                    for (int[] ids : idSets) {
                        for (int alias : new int[] {0, 5}) {
                            for (MessageProperties mp : new MessageProperties[] {MessageProperties.NONE, rich}) {
                                String topic = alias != 0 && payload % 2 == 0 ? "" : "a/b/€/𝄞";
                                Long expiry = mp.messageExpiryInterval();
                                MqttProperties props = v5 ? Codec.publishProperties(mp, expiry, ids, alias)
                                        : MqttProperties.NO_PROPERTIES;
                                int expected = encodedSize(topic, qos, v5, props, payload);
                                int computed = Codec.publishPacketSize(topic, qos, v5,
                                        v5 ? mp : MessageProperties.NONE, v5 ? expiry : null,
                                        v5 ? ids : Delivery.NO_IDS, v5 ? alias : 0, payload);
                                assertEquals(expected, computed, "payload " + payload + " qos " + qos + " v5 " + v5
                                        + " ids " + ids.length + " alias " + alias + " props " + !mp.isEmpty());
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void propertiesRoundTripThroughNettyCodec() {
        MessageProperties mp = new MessageProperties(1, 4_000_000_000L, "application/json", "resp/t",
                new byte[] {9, 8}, List.of(new UserProperty("a", "1"), new UserProperty("a", "2")));
        EmbeddedChannel enc = new EmbeddedChannel(MqttEncoder.INSTANCE);
        enc.attr(VERSION).set(MqttVersion.MQTT_5);
        enc.writeOutbound(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false,
                MqttQoS.AT_LEAST_ONCE, false, 0), new MqttPublishVariableHeader("t", 1,
                Codec.publishProperties(mp, mp.messageExpiryInterval(), new int[] {3, 4}, 0)),
                Unpooled.wrappedBuffer("x".getBytes(StandardCharsets.UTF_8))));
        ByteBuf wire = enc.readOutbound();
        EmbeddedChannel dec = new EmbeddedChannel(new MqttDecoder());
        dec.attr(VERSION).set(MqttVersion.MQTT_5);
        dec.writeInbound(wire);
        MqttPublishMessage in = dec.readInbound();
        MessageProperties back = Codec.messageProperties(in.variableHeader().properties());
        assertEquals(mp, back, "unsigned expiry > 2^31 survives, user properties keep order and duplicates");
        assertEquals(2, in.variableHeader().properties()
                .getProperties(MqttProperties.MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value()).size());
        in.release();
        enc.finishAndReleaseAll();
        dec.finishAndReleaseAll();
    }

    /**
     * A PUBLISH (or will) whose only properties are user properties: Netty's {@code MqttProperties.isEmpty()} looks
     * only at its map of ordinary properties, not at the lists of user properties and subscription identifiers, so
     * the properties must not be judged by it.
     */
    @Test
    void userPropertiesAloneAreKept() {
        MqttProperties only = new MqttProperties();
        only.add(new MqttProperties.UserProperty("a", "2"));
        only.add(new MqttProperties.UserProperty("c", "3"));
        only.add(new MqttProperties.UserProperty("a", "2"));
        MessageProperties mp = Codec.messageProperties(only);
        assertEquals(List.of(new UserProperty("a", "2"), new UserProperty("c", "3"), new UserProperty("a", "2")),
                mp.userProperties(), "order and duplicates kept");
        assertEquals(mp, Codec.will("c", "w", new byte[0], 1, false, only).properties(), "will properties too");
        assertFalse(Codec.isEmpty(only));

        MqttProperties ids = new MqttProperties();
        ids.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value(), 7));
        assertFalse(Codec.isEmpty(ids));
        assertTrue(Codec.isEmpty(new MqttProperties()));
        assertTrue(Codec.isEmpty(MqttProperties.NO_PROPERTIES));
        assertTrue(Codec.isEmpty(null));

        // and through Netty's decoder, as it comes off the wire
        EmbeddedChannel enc = new EmbeddedChannel(MqttEncoder.INSTANCE);
        enc.attr(VERSION).set(MqttVersion.MQTT_5);
        enc.writeOutbound(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false,
                MqttQoS.AT_MOST_ONCE, false, 0), new MqttPublishVariableHeader("t", 0,
                Codec.publishProperties(mp, null, Delivery.NO_IDS, 0)), Unpooled.EMPTY_BUFFER));
        EmbeddedChannel dec = new EmbeddedChannel(new MqttDecoder());
        dec.attr(VERSION).set(MqttVersion.MQTT_5);
        dec.writeInbound((ByteBuf) enc.readOutbound());
        MqttPublishMessage in = dec.readInbound();
        assertEquals(mp, Codec.messageProperties(in.variableHeader().properties()));
        in.release();
        enc.finishAndReleaseAll();
        dec.finishAndReleaseAll();
    }

    @Test
    void utf8Validation() {
        assertTrue(Codec.isValidUtf8("héllo 𝄞".getBytes(StandardCharsets.UTF_8)));
        assertFalse(Codec.isValidUtf8(new byte[] {(byte) 0xC3, (byte) 0x28}));
        assertFalse(Codec.isValidUtf8(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})); // encoded surrogate
        assertFalse(Codec.isValidUtf8(new byte[] {'a', 0, 'b'}));
        assertEquals(4, Codec.utf8Length("𝄞"));
        assertEquals(1, Codec.varIntSize(127));
        assertEquals(2, Codec.varIntSize(128));
        assertEquals(4, Codec.varIntSize(268_435_455));
    }
}
