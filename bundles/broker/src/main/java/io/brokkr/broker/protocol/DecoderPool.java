package io.brokkr.broker.protocol;

import io.brokkr.broker.transport.PacketInspector;
import io.netty.channel.ChannelInboundHandler;
import io.netty.handler.codec.mqtt.MqttDecoder;
import java.util.ArrayDeque;

/**
 * Netty's MQTT decoders of one configuration ({@code max.packet.size}, {@code max.client.id.length}), lent to
 * connections for the reads that need one ({@link PacketInspector.Decoders}). A decoder holds nothing of a connection
 * between two whole packets (its version is a channel attribute), so a connection whose reads ended on a packet
 * boundary gives it back, and an idle connection holds none: 96 bytes less per connection (the decoder and its
 * replay buffer). Each event loop keeps its own free decoders; a loop lends at most one at a time unless a handler
 * reads another connection from within a read, so the free lists stay short.
 */
final class DecoderPool implements PacketInspector.Decoders {

    /** More free decoders than this per thread are dropped (they come back only from nested reads). */
    private static final int MAX_FREE = 16;
    private static volatile DecoderPool current;

    private final int maxBytesInMessage;
    private final int maxClientIdLength;
    private final ThreadLocal<ArrayDeque<MqttDecoder>> free = ThreadLocal.withInitial(ArrayDeque::new);

    private DecoderPool(int maxBytesInMessage, int maxClientIdLength) {
        this.maxBytesInMessage = maxBytesInMessage;
        this.maxClientIdLength = maxClientIdLength;
    }

    /**
     * The pool for these limits: the one of the last call if they are the same (a changed cfg starts a new pool;
     * connections keep lending from the pool they started with, so their limits stay those they connected with).
     */
    static DecoderPool of(int maxBytesInMessage, int maxClientIdLength) {
        DecoderPool p = current;
        if (p == null || p.maxBytesInMessage != maxBytesInMessage || p.maxClientIdLength != maxClientIdLength) {
            current = p = new DecoderPool(maxBytesInMessage, maxClientIdLength);
        }
        return p;
    }

    @Override
    public ChannelInboundHandler borrow() {
        MqttDecoder d = free.get().poll();
        return d != null ? d : new MqttDecoder(maxBytesInMessage, maxClientIdLength);
    }

    @Override
    public void giveBack(ChannelInboundHandler decoder) {
        ArrayDeque<MqttDecoder> f = free.get();
        if (f.size() < MAX_FREE) {
            f.push((MqttDecoder) decoder);
        }
    }
}
