package io.brokkr.broker.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The hand-written PUBLISH encoder writes exactly the bytes of Netty's MqttEncoder. */
class PublishEncoderTest {

    private static final AttributeKey<MqttVersion> VERSION = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

    @Test
    void sameBytesAsNettysEncoder() {
        String[] topics = {"a", "sensors/x/ü/€/\uD83D\uDE00", "t/" + "x".repeat(300)};
        int[] sizes = {0, 1, 100, 16_400, 2_100_000};
        int cases = 0;
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1, MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            for (int qos = 0; qos <= 2; qos++) {
                for (boolean flags : new boolean[] {false, true}) {
                    for (String topic : topics) {
                        for (int size : sizes) {
                            byte[] payload = new byte[size];
                            Arrays.fill(payload, (byte) (size % 251));
                            assertArrayEquals(encode(v, false, topic, qos, flags, payload),
                                    encode(v, true, topic, qos, flags, payload),
                                    v + " qos " + qos + " dup/retain " + flags + " '" + topic + "' " + size);
                            cases++;
                        }
                    }
                }
            }
        }
        assertEquals(3 * 3 * 2 * 3 * 5, cases);
    }

    @Test
    void mqtt5PublishWithPropertiesGoesToNettysEncoder() {
        MqttProperties props = new MqttProperties();
        props.add(new MqttProperties.UserProperty("a", "2"));
        EmbeddedChannel ours = channel(MqttVersion.MQTT_5, true);
        EmbeddedChannel netty = channel(MqttVersion.MQTT_5, false);
        ours.writeOutbound(publish("u/p", 1, false, new byte[] {1, 2}, props));
        netty.writeOutbound(publish("u/p", 1, false, new byte[] {1, 2}, props));
        assertArrayEquals(bytes(netty), bytes(ours));
    }

    /** The connection's only encoder: packets other than PUBLISH come out as Netty's encoder writes them. */
    @Test
    void otherPacketsAsNettysEncoder() {
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            EmbeddedChannel ours = channel(v, true);
            EmbeddedChannel netty = channel(v, false);
            for (EmbeddedChannel ch : new EmbeddedChannel[] {ours, netty}) {
                ch.writeOutbound(new MqttConnAckMessage(
                        new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                        new MqttConnAckVariableHeader(MqttConnectReturnCode.CONNECTION_ACCEPTED, true,
                                MqttProperties.NO_PROPERTIES)));
                ch.writeOutbound(new MqttMessage(
                        new MqttFixedHeader(MqttMessageType.PUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                        MqttMessageIdVariableHeader.from(7)));
                ch.writeOutbound(new MqttMessage(
                        new MqttFixedHeader(MqttMessageType.PINGRESP, false, MqttQoS.AT_MOST_ONCE, false, 0)));
            }
            byte[] expected = bytes(netty);
            assertEquals(v == MqttVersion.MQTT_5 ? 5 + 4 + 2 : 4 + 4 + 2, expected.length, v.toString()); // all three there
            assertArrayEquals(expected, bytes(ours), v.toString());
        }
    }

    private static byte[] encode(MqttVersion v, boolean ours, String topic, int qos, boolean flags, byte[] payload) {
        EmbeddedChannel ch = channel(v, ours);
        ch.writeOutbound(publish(topic, qos, flags, payload, MqttProperties.NO_PROPERTIES));
        return bytes(ch);
    }

    private static EmbeddedChannel channel(MqttVersion v, boolean ours) {
        EmbeddedChannel ch = ours ? new EmbeddedChannel(PublishEncoder.INSTANCE)
                : new EmbeddedChannel(MqttEncoder.INSTANCE);
        ch.attr(VERSION).set(v);
        return ch;
    }

    private static MqttPublishMessage publish(String topic, int qos, boolean flags, byte[] payload,
                                              MqttProperties props) {
        return new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, flags && qos > 0,
                MqttQoS.valueOf(qos), flags, 0), new MqttPublishVariableHeader(topic, qos > 0 ? 4242 : -1, props),
                Unpooled.wrappedBuffer(payload));
    }

    private static byte[] bytes(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            all.writeBytes(b);
            b.release();
        }
        return ByteBufUtil.getBytes(all);
    }
}
