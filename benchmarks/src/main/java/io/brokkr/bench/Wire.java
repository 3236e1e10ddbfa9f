package io.brokkr.bench;

import io.netty.buffer.ByteBuf;

/**
 * Hand-rolled MQTT 3.1.1 and 5.0 encoding of the packets on the load tool's hot path (PUBLISH and the four publish
 * acknowledgements), so that generating load costs a few bytes copied per message. Everything else (CONNECT,
 * SUBSCRIBE, and all decoding) goes through netty-codec-mqtt's MqttEncoder/MqttDecoder.
 *
 * <p>Benchmark payloads start with a 16 byte header: publish time ({@link System#nanoTime()}), publisher index and
 * sequence number; the rest is filler.
 *
 * <p>MQTT 5.0 differs only in PUBLISH: its variable header ends with a Property Length, here always 0 (one byte).
 * The acknowledgements are the same two-byte form in both versions: a 5.0 PUBACK, PUBREC, PUBREL or PUBCOMP may omit
 * Reason Code and properties when the Reason Code is 0x00 Success (MQTT 5.0 section 3.4.2.1).
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
        return publishRemainingLength(topicLen, qos, payloadLen, false);
    }

    /** As above; {@code v5} adds the one-byte empty Property Length. */
    static int publishRemainingLength(int topicLen, int qos, int payloadLen, boolean v5) {
        return 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payloadLen;
    }

    /** Whole PUBLISH packet size on the wire. */
    static int publishSize(int topicLen, int qos, int payloadLen) {
        return publishSize(topicLen, qos, payloadLen, false);
    }

    /** Whole PUBLISH packet size on the wire, MQTT 5.0 if {@code v5}. */
    static int publishSize(int topicLen, int qos, int payloadLen, boolean v5) {
        int rl = publishRemainingLength(topicLen, qos, payloadLen, v5);
        return 1 + varIntSize(rl) + rl;
    }

    /**
     * Appends one PUBLISH with a benchmark payload of {@code payloadLen} bytes (at least {@link #HEADER}).
     *
     * @param topic ASCII/UTF-8 encoded topic name
     */
    static void writePublish(ByteBuf out, byte[] topic, int qos, int packetId, int payloadLen, long nanoTime,
                             int publisher, int seq) {
        writePublish(out, topic, qos, packetId, payloadLen, nanoTime, publisher, seq, false);
    }

    /** As above; {@code v5} writes an MQTT 5.0 PUBLISH (no properties). */
    static void writePublish(ByteBuf out, byte[] topic, int qos, int packetId, int payloadLen, long nanoTime,
                             int publisher, int seq, boolean v5) {
        out.writeByte(0x30 | (qos << 1));
        writeVarInt(out, publishRemainingLength(topic.length, qos, payloadLen, v5));
        out.writeShort(topic.length);
        out.writeBytes(topic);
        if (qos > 0) {
            out.writeShort(packetId);
        }
        if (v5) {
            out.writeByte(0); // Property Length (MQTT 5.0 section 3.3.2.3)
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
