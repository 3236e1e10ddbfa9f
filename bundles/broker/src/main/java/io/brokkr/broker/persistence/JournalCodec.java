package io.brokkr.broker.persistence;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of a journal record: one message with its publisher's user name. Format version 1:
 * {@code [1][flags: qos | retain<<2][timestamp long][topic][publisherId?][username?][properties?][payload length int]
 * [payload]}, strings as int length + UTF-8 with a presence byte where optional.
 */
public final class JournalCodec {

    private static final int VERSION = 1;

    /** A decoded record body. */
    public record Entry(Message message, String username) {
    }

    private JournalCodec() {
    }

    public static byte[] encode(Message m, String username) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + m.topic().length() + m.payload().length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeByte(m.qos() | (m.retain() ? 4 : 0));
            out.writeLong(m.timestamp());
            str(out, m.topic());
            optional(out, m.publisherId());
            optional(out, username);
            MessageProperties p = m.properties();
            if (p.isEmpty()) {
                out.writeByte(0);
            } else {
                out.writeByte(1);
                out.writeInt(p.payloadFormatIndicator() == null ? -1 : p.payloadFormatIndicator());
                out.writeLong(p.messageExpiryInterval() == null ? -1 : p.messageExpiryInterval());
                optional(out, p.contentType());
                optional(out, p.responseTopic());
                if (p.correlationData() == null) {
                    out.writeInt(-1);
                } else {
                    out.writeInt(p.correlationData().length);
                    out.write(p.correlationData());
                }
                out.writeInt(p.userProperties().size());
                for (UserProperty up : p.userProperties()) {
                    str(out, up.name());
                    str(out, up.value());
                }
            }
            out.writeInt(m.payload().length);
            out.write(m.payload());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // not for a byte array
        }
        return bytes.toByteArray();
    }

    public static Entry decode(byte[] body) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(body))) {
            int version = in.readUnsignedByte();
            if (version != VERSION) {
                throw new IllegalArgumentException("unknown journal record version " + version);
            }
            int flags = in.readUnsignedByte();
            long timestamp = in.readLong();
            String topic = str(in);
            String publisher = optional(in);
            String username = optional(in);
            MessageProperties props = MessageProperties.NONE;
            if (in.readUnsignedByte() == 1) {
                int pfi = in.readInt();
                long expiry = in.readLong();
                String contentType = optional(in);
                String responseTopic = optional(in);
                int cl = in.readInt();
                byte[] correlation = null;
                if (cl >= 0) {
                    correlation = in.readNBytes(cl);
                }
                int n = in.readInt();
                List<UserProperty> ups = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    ups.add(new UserProperty(str(in), str(in)));
                }
                props = new MessageProperties(pfi < 0 ? null : pfi, expiry < 0 ? null : expiry, contentType,
                        responseTopic, correlation, ups);
            }
            byte[] payload = in.readNBytes(in.readInt());
            return new Entry(new Message(topic, payload, flags & 3, (flags & 4) != 0, props, publisher, timestamp),
                    username);
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt journal record: " + e, e);
        }
    }

    /** Reads only the topic (to filter records without decoding the payload). */
    public static String topic(byte[] body) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(body, 10, body.length - 10))) {
            return str(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt journal record: " + e, e);
        }
    }

    private static void optional(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeByte(0);
        } else {
            out.writeByte(1);
            str(out, s);
        }
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String str(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) {
            throw new IOException("bad string length " + n);
        }
        return new String(in.readNBytes(n), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String optional(DataInputStream in) throws IOException {
        return in.readUnsignedByte() == 0 ? null : str(in);
    }
}
