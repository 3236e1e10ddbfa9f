package io.brokkr.broker.it;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Builders and readers for the packets the protocol tests exchange. */
final class Packets {

    private Packets() {
    }

    static MqttConnectMessage connect(MqttVersion v, String clientId, boolean clean, int keepAlive,
                                      MqttProperties props) {
        MqttMessageBuilders.ConnectBuilder b = MqttMessageBuilders.connect().protocolVersion(v).clientId(clientId)
                .cleanSession(clean).keepAlive(keepAlive);
        if (props != null) {
            b.properties(props);
        }
        return b.build();
    }

    /** MQTT 5 CONNECT with a Session Expiry Interval. */
    static MqttConnectMessage connect5(String clientId, boolean cleanStart, long sessionExpiry) {
        return connect(MqttVersion.MQTT_5, clientId, cleanStart, 10, props(
                MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL, (int) sessionExpiry));
    }

    static MqttPublishMessage publish(String topic, int qos, boolean retain, boolean dup, int packetId,
                                      byte[] payload, MqttProperties props) {
        return new MqttPublishMessage(
                new MqttFixedHeader(MqttMessageType.PUBLISH, dup, MqttQoS.valueOf(qos), retain, 0),
                new MqttPublishVariableHeader(topic, qos == 0 ? -1 : packetId,
                        props == null ? MqttProperties.NO_PROPERTIES : props),
                Unpooled.wrappedBuffer(payload));
    }

    static MqttMessage ack(MqttMessageType type, int packetId) {
        MqttQoS q = type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE;
        return new MqttMessage(new MqttFixedHeader(type, false, q, false, 0), MqttMessageIdVariableHeader.from(packetId));
    }

    static MqttProperties props(Object... typeValuePairs) {
        MqttProperties p = new MqttProperties();
        for (int i = 0; i < typeValuePairs.length; i += 2) {
            MqttProperties.MqttPropertyType t = (MqttProperties.MqttPropertyType) typeValuePairs[i];
            Object v = typeValuePairs[i + 1];
            if (v instanceof Integer n) {
                p.add(new MqttProperties.IntegerProperty(t.value(), n));
            } else if (v instanceof String s) {
                p.add(new MqttProperties.StringProperty(t.value(), s));
            } else if (v instanceof byte[] b) {
                p.add(new MqttProperties.BinaryProperty(t.value(), b));
            } else {
                throw new IllegalArgumentException(String.valueOf(v));
            }
        }
        return p;
    }

    /**
     * A CONNECT as raw bytes, for what clients and Netty's encoder refuse to produce.
     *
     * @param v5props the MQTT 5 properties section (length included) or null for 3.x
     */
    static byte[] rawConnect(String protocolName, int level, int flags, int keepAlive, byte[] v5props,
                             byte[] clientId) {
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        byte[] name = utf8(protocolName);
        body.write(0);
        body.write(name.length);
        body.writeBytes(name);
        body.write(level);
        body.write(flags);
        body.write(keepAlive >> 8);
        body.write(keepAlive & 0xFF);
        if (v5props != null) {
            body.writeBytes(v5props);
        }
        body.write(clientId.length >> 8);
        body.write(clientId.length & 0xFF);
        body.writeBytes(clientId);
        return frame(0x10, body.toByteArray());
    }

    /** Fixed header (type/flags byte and remaining length) in front of a body. */
    static byte[] frame(int firstByte, byte[] body) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(firstByte);
        int len = body.length;
        do {
            int d = len % 128;
            len /= 128;
            out.write(len > 0 ? d | 0x80 : d);
        } while (len > 0);
        out.writeBytes(body);
        return out.toByteArray();
    }

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static int packetId(MqttMessage m) {
        return ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
    }

    /** Reason code of a DISCONNECT / PUBACK-family packet (0 when absent). */
    static int reasonCode(MqttMessage m) {
        Object vh = m.variableHeader();
        if (vh instanceof MqttReasonCodeAndPropertiesVariableHeader h) {
            return h.reasonCode() & 0xFF;
        }
        if (vh instanceof MqttPubReplyMessageVariableHeader h) {
            return h.reasonCode() & 0xFF;
        }
        return 0;
    }

    static String text(MqttPublishMessage p) {
        return p.payload().toString(StandardCharsets.UTF_8);
    }

    static Integer intProp(MqttProperties props, MqttProperties.MqttPropertyType t) {
        MqttProperties.MqttProperty<?> p = props == null ? null : props.getProperty(t.value());
        return p == null ? null : (Integer) p.value();
    }

    static String stringProp(MqttProperties props, MqttProperties.MqttPropertyType t) {
        MqttProperties.MqttProperty<?> p = props == null ? null : props.getProperty(t.value());
        return p == null ? null : (String) p.value();
    }

    /** All values of a repeatable integer property (Subscription Identifier). */
    static List<Integer> intProps(MqttProperties props, MqttProperties.MqttPropertyType t) {
        List<Integer> out = new ArrayList<>();
        for (MqttProperties.MqttProperty<?> p : props.getProperties(t.value())) {
            out.add((Integer) p.value());
        }
        return out;
    }

    /** An MQTT UTF-8 string: two length bytes, then the bytes. */
    static byte[] mqttString(String s) {
        byte[] b = utf8(s);
        return concat(bytes(b.length >> 8, b.length & 0xFF), b);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
