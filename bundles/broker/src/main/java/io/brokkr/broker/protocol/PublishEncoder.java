package io.brokkr.broker.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;

/**
 * The connection's encoder: encodes outbound PUBLISH packets without properties (every MQTT 3.x PUBLISH, and MQTT 5
 * ones whose only property byte is the empty length) straight into one buffer; everything else it hands to Netty's
 * {@code MqttEncoder}. Neither is in the pipeline: {@link MqttConnection} calls {@link #write} with its own context
 * for every write (a handler context less per connection for each, 56 bytes).
 *
 * <p>Why: for every MQTT 5 packet Netty's encoder allocates two pooled buffers for the properties (and a list of
 * them) even when there are none, then copies them; at a few hundred thousand messages a second that made MQTT 5
 * delivery markedly slower than 3.1.1 (see README, Benchmarks). The bytes written are exactly Netty's
 * ({@code PublishEncoderTest} compares them).
 */
@ChannelHandler.Sharable
public final class PublishEncoder extends ChannelOutboundHandlerAdapter {

    public static final PublishEncoder INSTANCE = new PublishEncoder();
    /** Netty's attribute for the protocol version, set by MqttDecoder from CONNECT (MqttCodecUtil.MQTT_VERSION_KEY). */
    private static final AttributeKey<MqttVersion> MQTT_VERSION_KEY = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

    private PublishEncoder() {
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof MqttPublishMessage p) {
            boolean v5 = ctx.channel().attr(MQTT_VERSION_KEY).get() == MqttVersion.MQTT_5;
            if (!v5 || Codec.isEmpty(p.variableHeader().properties())) {
                ByteBuf out;
                try {
                    out = encode(ctx.alloc(), p, v5);
                } finally {
                    p.release();
                }
                ctx.write(out, promise);
                return;
            }
        }
        MqttEncoder.INSTANCE.write(ctx, msg, promise); // writes what it encodes (and anything else) to ctx
    }

    /** A PUBLISH without properties (MQTT 5: an empty property length). */
    static ByteBuf encode(ByteBufAllocator alloc, MqttPublishMessage p, boolean v5) {
        MqttFixedHeader h = p.fixedHeader();
        String topic = p.variableHeader().topicName();
        int topicBytes = ByteBufUtil.utf8Bytes(topic);
        ByteBuf payload = p.payload();
        int qos = h.qosLevel().value();
        int remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.readableBytes();
        ByteBuf b = alloc.ioBuffer(1 + Codec.varIntSize(remaining) + remaining);
        b.writeByte(0x30 | (h.isDup() ? 0x08 : 0) | qos << 1 | (h.isRetain() ? 0x01 : 0));
        writeVarInt(b, remaining);
        b.writeShort(topicBytes);
        ByteBufUtil.reserveAndWriteUtf8(b, topic, topicBytes);
        if (qos > 0) {
            b.writeShort(p.variableHeader().packetId());
        }
        if (v5) {
            b.writeByte(0); // property length
        }
        b.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
        return b;
    }

    /** An MQTT Variable Byte Integer (Remaining Length). */
    static void writeVarInt(ByteBuf b, int value) {
        for (int x = value; ; ) {
            int digit = x & 0x7F;
            x >>>= 7;
            if (x == 0) {
                b.writeByte(digit);
                return;
            }
            b.writeByte(digit | 0x80);
        }
    }
}
