package io.brokkr.broker.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;

/**
 * Peeks at the protocol level of the first CONNECT before Netty's decoder sees it, then removes itself. Netty's
 * decoder refuses unknown levels without telling which level it was; the level decides whether the refusal is an
 * MQTT 5 CONNACK with 0x84 (level above 5) or a 3.1.1 CONNACK with return code 1.
 */
public final class ConnectSniffer extends ChannelInboundHandlerAdapter {

    public static final AttributeKey<Integer> PROTOCOL_LEVEL = AttributeKey.valueOf("brokkr.connect.level");

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b) {
            Integer level = level(b);
            if (level != null) {
                ctx.channel().attr(PROTOCOL_LEVEL).set(level);
            }
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(msg);
    }

    /** The protocol level byte of a CONNECT at the start of the buffer, or null if it is not all there. */
    static Integer level(ByteBuf b) {
        int i = b.readerIndex();
        int end = b.writerIndex();
        if (end - i < 2 || (b.getUnsignedByte(i) & 0xF0) != 0x10) {
            return null;
        }
        i++;
        for (int n = 0; n < 4; n++) { // remaining length, variable byte integer
            if (i >= end) {
                return null;
            }
            if ((b.getUnsignedByte(i++) & 0x80) == 0) {
                break;
            }
        }
        if (end - i < 2) {
            return null;
        }
        int nameLength = b.getUnsignedShort(i);
        i += 2 + nameLength;
        return i < end ? (int) b.getUnsignedByte(i) : null;
    }
}
