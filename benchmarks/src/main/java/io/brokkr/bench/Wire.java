package io.brokkr.bench;

import io.netty.buffer.ByteBuf;

/**
 * Hand-rolled MQTT 3.1.1 encoding of the packets on the load tool's hot path (PUBLISH and the four publish
 * acknowledgements), so that generating load costs a few bytes copied per message. Everything else (CONNECT,
 * SUBSCRIBE, and all decoding) goes through netty-codec-mqtt's MqttEncoder/MqttDecoder.
 *
 * <p>Benchmark payloads start with a 16 byte header: publish time ({@link System#nanoTime()}), publisher index and
 * sequence number; the rest is filler.
 */
final class Wire {

    static final int HEADER = 16;

    static final int PUBACK = 0x40;
    static final int PUBREC = 0x50;
    static final int PUBREL = 0x62; // reserved flags 0010
    static final int PUBCOMP = 0x70;

    private Wire() {
    }

    /** Size of the remaining length field for {@code len}. */
    static int varIntSize(int len) {
        return len < 128 ? 1 : len < 16_384 ? 2 : len < 2_097_152 ? 3 : 4;
    }

    static int publishRemainingLength(int topicLen, int qos, int payloadLen) {
        return 2 + topicLen + (qos > 0 ? 2 : 0) + payloadLen;
    }

    /** Whole PUBLISH packet size on the wire. */
    static int publishSize(int topicLen, int qos, int payloadLen) {
        int rl = publishRemainingLength(topicLen, qos, payloadLen);
        return 1 + varIntSize(rl) + rl;
    }

    /**
     * Appends one PUBLISH with a benchmark payload of {@code payloadLen} bytes (at least {@link #HEADER}).
     *
     * @param topic ASCII/UTF-8 encoded topic name
     */
    static void writePublish(ByteBuf out, byte[] topic, int qos, int packetId, int payloadLen, long nanoTime,
                             int publisher, int seq) {
        out.writeByte(0x30 | (qos << 1));
        writeVarInt(out, publishRemainingLength(topic.length, qos, payloadLen));
        out.writeShort(topic.length);
        out.writeBytes(topic);
        if (qos > 0) {
            out.writeShort(packetId);
        }
        out.writeLong(nanoTime);
        out.writeInt(publisher);
        out.writeInt(seq);
        out.writeZero(payloadLen - HEADER);
    }

    /** Appends PUBACK, PUBREC, PUBREL or PUBCOMP. */
    static void writeAck(ByteBuf out, int type, int packetId) {
        out.writeByte(type);
        out.writeByte(2);
        out.writeShort(packetId);
    }

    static void writeVarInt(ByteBuf out, int v) {
        do {
            int b = v & 0x7F;
            v >>>= 7;
            if (v > 0) {
                b |= 0x80;
            }
            out.writeByte(b);
        } while (v > 0);
    }
}
