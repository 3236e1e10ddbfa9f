package io.brokkr.broker.transport;

import io.brokkr.broker.config.Stats;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;

/**
 * Looks at the raw bytes in front of Netty's MQTT decoder for what the decoder drops before the broker sees it:
 * <ul>
 * <li>the protocol level of the first CONNECT ({@link #connectLevel}): Netty's decoder refuses unknown levels
 * without telling which level it was; the level decides whether the refusal is an MQTT 5 CONNACK with 0x84 (level
 * above 5) or a 3.1.1 CONNACK with return code 1;</li>
 * <li>the reserved bits 6 and 7 of SUBSCRIBE options, which make the packet malformed [MQTT-3.8.3-5]: it records
 * the ordinal of the first offending SUBSCRIBE ({@link #badSubscribe}); the connection refuses that SUBSCRIBE when
 * it is decoded.</li>
 * </ul>
 * It follows packet boundaries across reads (only SUBSCRIBE bodies are copied, and those are small) and never
 * changes or consumes the bytes. It also counts the bytes read and written for the broker's statistics. One handler
 * does all of this, and keeps what it found in its own fields rather than in channel attributes: every handler
 * context and attribute is paid by every connection for as long as it is open.
 */
public final class PacketInspector extends ChannelDuplexHandler {

    private static final AttributeKey<MqttVersion> NETTY_VERSION = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");
    /** SUBSCRIBE bodies larger than this are not inspected (nobody sends such filters lists). */
    private static final int MAX_INSPECTED = 64 * 1024;

    /** {@link #connectLevel} before the first read. */
    private static final short UNREAD = -2;
    /** {@link #connectLevel} when the first read did not hold the protocol level of a CONNECT. */
    private static final short UNKNOWN = -1;

    private final Stats stats;
    /** Lends this connection Netty's MQTT decoder; null until {@link #decodeWith}: then the bytes go on undecoded. */
    private Decoders decoders;
    /**
     * The MQTT decoder, run inside this handler on the bytes it has looked at rather than as a pipeline handler of
     * its own (a handler context less per connection, 56 bytes). Borrowed from {@link #decoders} by the first read
     * that needs it, and given back when a read ends on a packet boundary (the decoder then holds nothing of this
     * connection), so an idle connection holds none (96 bytes less); kept for good once {@link #keepDecoder} was
     * called or the packet boundaries are no longer followed ({@link #done}).
     */
    private ChannelInboundHandler decoder;
    /** The fixed header being read: its first byte, the remaining length so far and the bytes seen. */
    private byte first;
    private byte headerLength;
    private int length;
    private int skip;
    private byte[] body;
    private int bodyFill;
    private int subscribes;
    private int badSubscribe;
    private short connectLevel = UNREAD;
    /** Packet boundaries are no longer followed (a malformed length, or a SUBSCRIBE with reserved bits was found). */
    private boolean done;
    /** The decoder stays with this connection ({@link #keepDecoder}). */
    private boolean keep;

    /**
     * Where a connection's {@link PacketInspector} borrows Netty's MQTT decoder (not sharable) for the reads that
     * need one. Only the channel's event loop borrows and gives back.
     */
    public interface Decoders {

        /** A decoder in its initial state, holding no bytes. */
        ChannelInboundHandler borrow();

        /** Takes back a decoder that was fed whole packets only since it was borrowed, and decoded them all. */
        void giveBack(ChannelInboundHandler decoder);
    }

    PacketInspector(Stats stats) {
        this.stats = stats;
    }

    /**
     * Decodes the bytes with decoders lent by {@code d}, as if the decoder were the next handler: what it decodes
     * goes on from this handler, and it gets the read-complete, inactive, user event and removal calls. Set once,
     * when the MQTT handlers are added, before the first read.
     */
    public void decodeWith(Decoders d) {
        decoders = d;
    }

    /**
     * Keeps the decoder with this connection from now on: it decoded a malformed packet, after which it skips the
     * rest of the connection's bytes, so it must not be lent to another one. Channel loop.
     */
    public void keepDecoder() {
        keep = true;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (connectLevel == UNREAD) {
            Integer level = msg instanceof ByteBuf b ? level(b) : null; // the first read only
            connectLevel = level == null ? UNKNOWN : (short) (int) level;
        }
        if (msg instanceof ByteBuf b) {
            stats.bytesReceived.add(b.readableBytes());
            if (!done) {
                inspect(ctx, b);
            }
        }
        if (decoder == null && decoders != null) {
            decoder = decoders.borrow();
        }
        if (decoder != null) {
            decoder.channelRead(ctx, msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        ChannelInboundHandler d = decoder;
        if (d == null) {
            ctx.fireChannelReadComplete();
            return;
        }
        d.channelReadComplete(ctx);
        if (!keep && !done && headerLength == 0 && skip == 0 && body == null && decoder == d) {
            // whole packets only: the decoder decoded them all and released its buffer
            decoder = null;
            decoders.giveBack(d);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (decoder != null) {
            decoder.channelInactive(ctx); // decodes what is left, then passes the event on
        } else {
            ctx.fireChannelInactive();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent) {
            keep = true; // the decoder decodes its last bytes and ends its replay buffer: it cannot be lent again
        }
        if (decoder != null) {
            decoder.userEventTriggered(ctx, evt);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
        if (decoder != null) {
            decoder.handlerRemoved(ctx); // releases its buffer (passing on what it held undecoded)
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf b) {
            stats.bytesSent.add(b.readableBytes());
        }
        ctx.write(msg, promise);
    }

    private void inspect(ChannelHandlerContext ctx, ByteBuf in) {
        int i = in.readerIndex();
        int end = in.writerIndex();
        while (i < end && !done) {
            if (skip > 0) {
                int n = Math.min(skip, end - i);
                i += n;
                skip -= n;
                continue;
            }
            if (body != null) {
                int n = Math.min(body.length - bodyFill, end - i);
                in.getBytes(i, body, bodyFill, n);
                i += n;
                bodyFill += n;
                if (bodyFill == body.length) {
                    check(ctx, body);
                    body = null;
                }
                continue;
            }
            byte b = in.getByte(i++);
            if (headerLength++ == 0) {
                first = b;
                length = 0;
                continue;
            }
            length |= (b & 0x7F) << (7 * (headerLength - 2)); // remaining length, least significant digit first
            if ((b & 0x80) != 0) {
                if (headerLength == 5) {
                    done = true; // a malformed remaining length: the decoder refuses it
                }
                continue;
            }
            boolean subscribe = (first & 0xF0) == 0x80;
            headerLength = 0;
            if (subscribe) {
                subscribes++;
                if (length > 0 && length <= MAX_INSPECTED) {
                    body = new byte[length];
                    bodyFill = 0;
                    continue;
                }
            }
            skip = length;
        }
    }

    /**
     * The protocol level byte of the connection's CONNECT, if the connection's first read held it (a CONNECT at
     * its start, up to that byte), else null. Channel loop.
     */
    public Integer connectLevel() {
        return connectLevel >= 0 ? Integer.valueOf(connectLevel) : null;
    }

    /**
     * The 1-based ordinal (among the connection's SUBSCRIBE packets) of the first one with reserved option bits,
     * or 0 if none had them. Channel loop.
     */
    public int badSubscribe() {
        return badSubscribe;
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

    private void check(ChannelHandlerContext ctx, byte[] p) {
        Integer level = connectLevel();
        MqttVersion nv = ctx.channel().attr(NETTY_VERSION).get();
        boolean v5;
        if (level != null) {
            v5 = level == 5;
        } else if (nv != null) {
            v5 = nv == MqttVersion.MQTT_5;
        } else {
            return; // version unknown yet: not inspected
        }
        int i = 2; // packet identifier
        if (v5) {
            int props = 0;
            int shift = 0;
            while (i < p.length) {
                byte b = p[i++];
                props |= (b & 0x7F) << shift;
                shift += 7;
                if ((b & 0x80) == 0 || shift > 21) {
                    break;
                }
            }
            i += props;
        }
        while (i + 2 <= p.length) {
            int filterLength = ((p[i] & 0xFF) << 8) | (p[i + 1] & 0xFF);
            i += 2 + filterLength;
            if (i >= p.length) {
                return; // truncated: the decoder refuses it
            }
            if ((p[i++] & 0xC0) != 0) {
                if (badSubscribe == 0) {
                    badSubscribe = subscribes;
                }
                done = true;
                return;
            }
        }
    }
}
