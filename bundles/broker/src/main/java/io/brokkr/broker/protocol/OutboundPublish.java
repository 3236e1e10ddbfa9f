package io.brokkr.broker.protocol;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.broker.session.Delivery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.util.HashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PUBLISH and PUBREL to the client: topic aliases chosen per connection, the client's Maximum Packet Size, MQTT 5
 * properties, and the retained QoS 0 messages of MQTT 3.x subscribers encoded by hand into batches. Runs on the
 * session loop; stateless: the aliases and the open batch are the connection's.
 */
final class OutboundPublish {

    private static final Logger LOG = LoggerFactory.getLogger(OutboundPublish.class);

    private OutboundPublish() {
    }

    /**
     * Writes a PUBLISH (no flush). Runs on the session loop.
     *
     * @return false if the packet exceeds the client's Maximum Packet Size and was not sent
     */
    static boolean writePublish(ConnectionState c, Delivery d, int packetId, boolean dup) {
        Message m = d.message();
        boolean v5 = c.isV5();
        Long remaining = v5 ? m.remainingExpiry(System.currentTimeMillis()) : null;
        int[] ids = v5 ? d.subscriptionIds() : Delivery.NO_IDS;
        String topic = m.topic();
        int alias = 0;
        if (v5 && c.clientTopicAliasMaximum > 0) {
            if (c.outboundAliases == null) {
                c.outboundAliases = new HashMap<>();
            }
            Integer existing = c.outboundAliases.get(topic);
            if (existing != null) {
                alias = existing;
                topic = "";
            } else if (c.outboundAliases.size() < c.clientTopicAliasMaximum) {
                alias = c.outboundAliases.size() + 1;
                c.outboundAliases.put(topic, alias);
            }
        }
        if (c.clientMaximumPacketSize != Long.MAX_VALUE) {
            int size = Codec.publishPacketSize(topic, d.qos(), v5, v5 ? m.properties() : MessageProperties.NONE,
                    remaining, ids, alias, m.payload().length);
            if (size > c.clientMaximumPacketSize) {
                if (alias != 0 && !topic.isEmpty()) {
                    c.outboundAliases.remove(topic);
                }
                LOG.debug("Client {}: message on '{}' ({} bytes) exceeds its Maximum Packet Size {}, not sent",
                        c.clientId, m.topic(), size, c.clientMaximumPacketSize);
                c.broker.counters().publishDropped.increment();
                return false;
            }
        }
        MqttProperties props = v5 ? Codec.publishProperties(m.properties(), remaining, ids, alias)
                : MqttProperties.NO_PROPERTIES;
        MqttPublishMessage pub = new MqttPublishMessage(
                new MqttFixedHeader(MqttMessageType.PUBLISH, dup, MqttQoS.valueOf(d.qos()), d.retain(), 0),
                new MqttPublishVariableHeader(topic, packetId, props), Unpooled.wrappedBuffer(m.payload()));
        c.broker.counters().publishSent.increment();
        c.write(pub, false);
        c.broker.delivered(c.context, m, d.qos(), packetId);
        return true;
    }

    /**
     * Appends a retained QoS 0 PUBLISH for an MQTT 3.1/3.1.1 client, encoded by hand into a batch buffer that
     * {@link #endRetainedBatch} writes (no flush): the retained messages sent after a SUBSCRIBE then cost a few
     * bytes copied each instead of a pass through the encoder. Runs on the session loop.
     */
    static void writeRetainedQos0(ConnectionState c, Message m) {
        String topic = m.topic();
        int topicBytes = io.netty.buffer.ByteBufUtil.utf8Bytes(topic);
        int remaining = 2 + topicBytes + m.payload().length;
        int size = 1 + Codec.varIntSize(remaining) + remaining;
        ByteBuf b = c.retainedBatch;
        if (b != null && b.writableBytes() < size) {
            endRetainedBatch(c);
            b = null;
        }
        if (b == null) {
            b = c.channel.alloc().ioBuffer(Math.max(size, 64 * 1024));
            c.retainedBatch = b;
        }
        b.writeByte(0x31); // PUBLISH, QoS 0, RETAIN
        PublishEncoder.writeVarInt(b, remaining);
        b.writeShort(topicBytes);
        io.netty.buffer.ByteBufUtil.reserveAndWriteUtf8(b, topic, topicBytes);
        b.writeBytes(m.payload());
        c.broker.counters().publishSent.increment();
        c.broker.counters().messagesSent.increment();
        c.broker.delivered(c.context, m, 0, 0);
    }

    /** Writes what {@link ConnectionState#writeRetainedQos0} encoded (no flush). */
    static void endRetainedBatch(ConnectionState c) {
        ByteBuf b = c.retainedBatch;
        if (b != null) {
            c.retainedBatch = null;
            c.send(b, false, c.channel.voidPromise());
        }
    }

    static void writePubReply(ConnectionState c, MqttMessageType type, int packetId, int rc) {
        MqttQoS qos = type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE;
        Object vh = c.isV5() && rc != 0
                ? new MqttPubReplyMessageVariableHeader(packetId, (byte) rc, MqttProperties.NO_PROPERTIES)
                : MqttMessageIdVariableHeader.from(packetId);
        c.write(new MqttMessage(new MqttFixedHeader(type, false, qos, false, 0), vh), false);
    }
}
