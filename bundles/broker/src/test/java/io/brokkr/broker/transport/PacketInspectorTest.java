package io.brokkr.broker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.broker.config.Stats;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@link PacketInspector} lends itself Netty's MQTT decoder only for the reads that need it: a connection whose
 * reads end on a packet boundary gives it back (an idle connection holds none), one with part of a packet buffered
 * keeps it, and a decoder that decoded a malformed packet or saw the end of the input is never lent again.
 */
class PacketInspectorTest {

    /** CONNECT, MQTT 3.1.1, client id "a". */
    private static final byte[] CONNECT = {0x10, 0x0D, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'a'};
    private static final byte[] PINGREQ = {(byte) 0xC0, 0};
    /** PUBLISH QoS 0 to "t" with payload "hi". */
    private static final byte[] PUBLISH = {0x30, 5, 0, 1, 't', 'h', 'i'};

    /** Lends real decoders and records what it lent and got back. */
    private static final class Lender implements PacketInspector.Decoders {
        final ArrayDeque<ChannelInboundHandler> free = new ArrayDeque<>();
        int created;

        @Override
        public ChannelInboundHandler borrow() {
            ChannelInboundHandler d = free.poll();
            if (d == null) {
                created++;
                d = new MqttDecoder();
            }
            return d;
        }

        @Override
        public void giveBack(ChannelInboundHandler decoder) {
            free.push(decoder);
        }
    }

    /** The handler behind the inspector: keeps what was decoded; keeps the decoder after a failure, as the broker. */
    private static final class Received extends ChannelInboundHandlerAdapter {
        final List<String> packets = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            MqttMessage m = (MqttMessage) msg;
            if (m.decoderResult().isFailure()) {
                ctx.pipeline().get(PacketInspector.class).keepDecoder();
                packets.add("failure");
            } else if (m instanceof MqttPublishMessage p) {
                packets.add("PUBLISH " + p.variableHeader().topicName() + " "
                        + p.payload().toString(StandardCharsets.UTF_8));
            } else {
                packets.add(m.fixedHeader().messageType().name());
            }
            ReferenceCountUtil.release(m);
        }
    }

    private static EmbeddedChannel channel(Lender lender, Received received) {
        PacketInspector inspector = new PacketInspector(new Stats());
        inspector.decodeWith(lender);
        return new EmbeddedChannel(inspector, received);
    }

    private static ByteBuf bytes(byte[]... parts) {
        ByteBuf b = Unpooled.buffer();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b;
    }

    private static byte[] slice(byte[] b, int from, int to) {
        return java.util.Arrays.copyOfRange(b, from, to);
    }

    @Test
    void aConnectionHoldsTheDecoderOnlyWhilePartOfAPacketIsBuffered() {
        Lender lender = new Lender();
        Received a = new Received();
        EmbeddedChannel ca = channel(lender, a);
        ca.writeInbound(bytes(CONNECT, PINGREQ)); // one read of whole packets
        assertEquals(List.of("CONNECT", "PINGREQ"), a.packets);
        assertEquals(1, lender.free.size(), "given back after a read of whole packets");

        ca.writeInbound(bytes(PUBLISH, slice(PINGREQ, 0, 1))); // a packet and the first byte of the next
        assertEquals(0, lender.free.size(), "kept while a packet is half read");

        // another connection meanwhile gets a decoder of its own, and gives it back
        Received b = new Received();
        EmbeddedChannel cb = channel(lender, b);
        cb.writeInbound(bytes(CONNECT));
        assertEquals(2, lender.created);
        assertEquals(1, lender.free.size());

        ca.writeInbound(bytes(slice(PINGREQ, 1, 2), slice(PUBLISH, 0, 3))); // ends one, starts another
        assertEquals(1, lender.free.size());
        ca.writeInbound(bytes(slice(PUBLISH, 3, PUBLISH.length)));
        assertEquals(List.of("CONNECT", "PINGREQ", "PUBLISH t hi", "PINGREQ", "PUBLISH t hi"), a.packets);
        assertEquals(2, lender.free.size(), "both decoders back");

        // the decoder lent back and forth decodes each connection's packets with that connection's version
        for (int i = 0; i < 3; i++) {
            cb.writeInbound(bytes(slice(PUBLISH, 0, 2)));
            ca.writeInbound(bytes(PINGREQ));
            cb.writeInbound(bytes(slice(PUBLISH, 2, PUBLISH.length), PINGREQ));
        }
        assertEquals(List.of("CONNECT", "PUBLISH t hi", "PINGREQ", "PUBLISH t hi", "PINGREQ",
                "PUBLISH t hi", "PINGREQ"), b.packets);
        assertEquals(List.of("CONNECT", "PINGREQ", "PUBLISH t hi", "PINGREQ", "PUBLISH t hi", "PINGREQ", "PINGREQ",
                "PINGREQ"), a.packets);
        assertEquals(2, lender.created);
        assertEquals(2, lender.free.size());
        ca.finishAndReleaseAll();
        cb.finishAndReleaseAll();
    }

    @Test
    void aDecoderThatDecodedAMalformedPacketIsNotLentAgain() {
        Lender lender = new Lender();
        Received a = new Received();
        EmbeddedChannel ca = channel(lender, a);
        ca.writeInbound(bytes(CONNECT));
        assertEquals(1, lender.free.size());
        ca.writeInbound(bytes(new byte[] {0x30, 3, 0, 1, '#'})); // a wildcard in a topic name
        assertEquals(List.of("CONNECT", "failure"), a.packets);
        assertEquals(0, lender.free.size(), "the decoder now skips every byte: kept by its connection");

        Received b = new Received();
        EmbeddedChannel cb = channel(lender, b);
        cb.writeInbound(bytes(CONNECT, PUBLISH));
        assertEquals(List.of("CONNECT", "PUBLISH t hi"), b.packets);
        assertEquals(2, lender.created);
        ca.finishAndReleaseAll();
        cb.finishAndReleaseAll();
    }

    @Test
    void aDecoderThatSawTheEndOfTheInputIsNotLentAgain() {
        Lender lender = new Lender();
        Received a = new Received();
        EmbeddedChannel ca = channel(lender, a);
        ca.writeInbound(bytes(CONNECT, slice(PUBLISH, 0, 4)));
        ca.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        ca.pipeline().fireChannelReadComplete();
        assertEquals(0, lender.free.size());
        assertEquals(List.of("CONNECT"), a.packets);
        ca.finishAndReleaseAll();
        assertEquals(0, lender.free.size());
    }
}
