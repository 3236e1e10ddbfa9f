package io.brokkr.broker.protocol;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.BinaryProperty;
import io.netty.handler.codec.mqtt.MqttProperties.IntegerProperty;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttProperties.StringProperty;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Conversions between Netty MQTT properties and the API model, and packet size arithmetic. */
public final class Codec {

    private Codec() {
    }

    static Integer intProp(MqttProperties props, MqttPropertyType type) {
        if (props == null) {
            return null;
        }
        MqttProperties.MqttProperty<?> p = props.getProperty(type.value());
        return p == null ? null : (Integer) p.value();
    }

    /** A four-byte integer property read as unsigned. */
    static Long uintProp(MqttProperties props, MqttPropertyType type) {
        Integer v = intProp(props, type);
        return v == null ? null : v & 0xFFFF_FFFFL;
    }

    static String stringProp(MqttProperties props, MqttPropertyType type) {
        if (props == null) {
            return null;
        }
        MqttProperties.MqttProperty<?> p = props.getProperty(type.value());
        return p == null ? null : (String) p.value();
    }

    static byte[] binaryProp(MqttProperties props, MqttPropertyType type) {
        if (props == null) {
            return null;
        }
        MqttProperties.MqttProperty<?> p = props.getProperty(type.value());
        return p == null ? null : (byte[]) p.value();
    }

    static List<UserProperty> userProps(MqttProperties props) {
        if (props == null) {
            return List.of();
        }
        @SuppressWarnings("unchecked")
        List<MqttProperties.UserProperty> list =
                (List<MqttProperties.UserProperty>) props.getProperties(MqttPropertyType.USER_PROPERTY.value());
        if (list == null || list.isEmpty()) {
            return List.of();
        }
        List<UserProperty> out = new ArrayList<>(list.size());
        for (MqttProperties.UserProperty p : list) {
            out.add(new UserProperty(p.value().key, p.value().value));
        }
        return out;
    }

    /**
     * True if there are no properties at all. Netty's {@link MqttProperties#isEmpty()} looks only at its map of
     * ordinary properties: it is true for properties holding only User Properties or Subscription Identifiers (kept
     * in separate lists), so it must not be used to decide whether there is anything to read.
     */
    static boolean isEmpty(MqttProperties props) {
        return props == null || props.isEmpty()
                && props.getProperties(MqttPropertyType.USER_PROPERTY.value()).isEmpty()
                && props.getProperties(MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value()).isEmpty();
    }

    /**
     * The publication properties of an inbound MQTT 5 PUBLISH (or will properties). User Properties alone count:
     * see {@link #isEmpty(MqttProperties)}.
     */
    static MessageProperties messageProperties(MqttProperties props) {
        if (isEmpty(props)) {
            return MessageProperties.NONE;
        }
        return new MessageProperties(intProp(props, MqttPropertyType.PAYLOAD_FORMAT_INDICATOR),
                uintProp(props, MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL),
                stringProp(props, MqttPropertyType.CONTENT_TYPE),
                stringProp(props, MqttPropertyType.RESPONSE_TOPIC),
                binaryProp(props, MqttPropertyType.CORRELATION_DATA),
                userProps(props));
    }

    /**
     * Properties of an outbound MQTT 5 PUBLISH.
     *
     * @param remainingExpiry remaining expiry seconds or null
     * @param topicAlias      alias to send, or 0
     */
    static MqttProperties publishProperties(MessageProperties mp, Long remainingExpiry, int[] subscriptionIds,
                                            int topicAlias) {
        if (mp.isEmpty() && subscriptionIds.length == 0 && topicAlias == 0) {
            return MqttProperties.NO_PROPERTIES;
        }
        MqttProperties props = new MqttProperties();
        if (mp.payloadFormatIndicator() != null) {
            props.add(new IntegerProperty(MqttPropertyType.PAYLOAD_FORMAT_INDICATOR.value(),
                    mp.payloadFormatIndicator()));
        }
        if (remainingExpiry != null) {
            props.add(new IntegerProperty(MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL.value(),
                    (int) remainingExpiry.longValue()));
        }
        if (mp.contentType() != null) {
            props.add(new StringProperty(MqttPropertyType.CONTENT_TYPE.value(), mp.contentType()));
        }
        if (mp.responseTopic() != null) {
            props.add(new StringProperty(MqttPropertyType.RESPONSE_TOPIC.value(), mp.responseTopic()));
        }
        if (mp.correlationData() != null) {
            props.add(new BinaryProperty(MqttPropertyType.CORRELATION_DATA.value(), mp.correlationData()));
        }
        for (UserProperty up : mp.userProperties()) {
            props.add(new MqttProperties.UserProperty(up.name(), up.value()));
        }
        for (int id : subscriptionIds) {
            props.add(new IntegerProperty(MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value(), id));
        }
        if (topicAlias != 0) {
            props.add(new IntegerProperty(MqttPropertyType.TOPIC_ALIAS.value(), topicAlias));
        }
        return props;
    }

    static int varIntSize(int value) {
        if (value < 128) {
            return 1;
        } else if (value < 16_384) {
            return 2;
        } else if (value < 2_097_152) {
            return 3;
        }
        return 4;
    }

    static int utf8Length(String s) {
        int len = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                len++;
            } else if (c < 0x800) {
                len += 2;
            } else if (Character.isHighSurrogate(c)) {
                len += 4;
                i++;
            } else {
                len += 3;
            }
        }
        return len;
    }

    /** Exact encoded size of an outbound PUBLISH packet. */
    public static int publishPacketSize(String topic, int qos, boolean v5, MessageProperties mp, Long remainingExpiry,
                                 int[] subscriptionIds, int topicAlias, int payloadLength) {
        int remaining = 2 + utf8Length(topic) + (qos > 0 ? 2 : 0) + payloadLength;
        if (v5) {
            int props = 0;
            if (mp.payloadFormatIndicator() != null) {
                props += 2;
            }
            if (remainingExpiry != null) {
                props += 5;
            }
            if (mp.contentType() != null) {
                props += 3 + utf8Length(mp.contentType());
            }
            if (mp.responseTopic() != null) {
                props += 3 + utf8Length(mp.responseTopic());
            }
            if (mp.correlationData() != null) {
                props += 3 + mp.correlationData().length;
            }
            for (UserProperty up : mp.userProperties()) {
                props += 5 + utf8Length(up.name()) + utf8Length(up.value());
            }
            for (int id : subscriptionIds) {
                props += 1 + varIntSize(id);
            }
            if (topicAlias != 0) {
                props += 3;
            }
            remaining += varIntSize(props) + props;
        }
        return 1 + varIntSize(remaining) + remaining;
    }

    /** True if the bytes are well-formed UTF-8 without U+0000 (payload format indicator 1). */
    static boolean isValidUtf8(byte[] bytes) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            return s.indexOf('\u0000') < 0;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** Messages never carry a retain flag into the store other than as given; helper for will messages. */
    static Message will(String clientId, String topic, byte[] payload, int qos, boolean retain,
                        MqttProperties willProps) {
        return new Message(topic, payload, qos, retain, messageProperties(willProps), clientId,
                System.currentTimeMillis());
    }
}
