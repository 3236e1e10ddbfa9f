package io.brokkr.broker.persistence;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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

    /**
     * The record body of a message. Measured size first, then written into one array (no stream, no copy): this runs
     * on the publisher's event loop for every message a sink takes.
     */
    public static byte[] encode(Message m, String username) {
        byte[] topic = utf8(m.topic());
        byte[] publisher = m.publisherId() == null ? null : utf8(m.publisherId());
        byte[] user = username == null ? null : utf8(username);
        MessageProperties p = m.properties();
        byte[] props = p.isEmpty() ? null : properties(p);
        byte[] payload = m.payload();
        int size = 1 + 1 + 8 + 4 + topic.length + 1 + (publisher == null ? 0 : 4 + publisher.length) + 1
                + (user == null ? 0 : 4 + user.length) + 1 + (props == null ? 0 : props.length) + 4 + payload.length;
        byte[] body = new byte[size];
        ByteBuffer out = ByteBuffer.wrap(body);
        out.put((byte) VERSION);
        out.put((byte) (m.qos() | (m.retain() ? 4 : 0)));
        out.putLong(m.timestamp());
        out.putInt(topic.length).put(topic);
        optional(out, publisher);
        optional(out, user);
        if (props == null) {
            out.put((byte) 0);
        } else {
            out.put((byte) 1).put(props);
        }
        out.putInt(payload.length).put(payload);
        return body;
    }

    /** The properties block (after its presence byte); only for messages that have properties. */
    private static byte[] properties(MessageProperties p) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
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
        } catch (IOException e) {
            throw new UncheckedIOException(e); // not for a byte array
        }
        return bytes.toByteArray();
    }

    public static Entry decode(byte[] body) {
        return decode(body, null);
    }

    /**
     * Decodes a record body whose topic was read already ({@link #topic}): it is not decoded again.
     *
     * @param topic the record's topic as {@link #topic} returned it, or null to decode it
     */
    public static Entry decode(byte[] body, String topic) {
        try {
            ByteBuffer in = ByteBuffer.wrap(body);
            int version = in.get() & 0xFF;
            if (version != VERSION) {
                throw new IllegalArgumentException("unknown journal record version " + version);
            }
            int flags = in.get() & 0xFF;
            long timestamp = in.getLong();
            if (topic == null) {
                topic = str(in);
            } else {
                skip(in);
            }
            String publisher = optional(in);
            String username = optional(in);
            MessageProperties props = MessageProperties.NONE;
            if ((in.get() & 0xFF) == 1) {
                int pfi = in.getInt();
                long expiry = in.getLong();
                String contentType = optional(in);
                String responseTopic = optional(in);
                int cl = in.getInt();
                byte[] correlation = null;
                if (cl >= 0) {
                    correlation = bytes(in, cl);
                }
                int n = in.getInt();
                if (n < 0 || n > in.remaining()) {
                    throw new IllegalArgumentException("corrupt journal record: bad user property count " + n);
                }
                List<UserProperty> ups = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    ups.add(new UserProperty(str(in), str(in)));
                }
                props = new MessageProperties(pfi < 0 ? null : pfi, expiry < 0 ? null : expiry, contentType,
                        responseTopic, correlation, ups);
            }
            byte[] payload = bytes(in, in.getInt());
            return new Entry(new Message(topic, payload, flags & 3, (flags & 4) != 0, props, publisher, timestamp),
                    username);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("corrupt journal record: " + e, e);
        }
    }

    /** Reads only the topic (to filter records without decoding the payload). */
    public static String topic(byte[] body) {
        try {
            return str(ByteBuffer.wrap(body, 10, body.length - 10));
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException("corrupt journal record: " + e, e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void optional(ByteBuffer out, byte[] s) {
        if (s == null) {
            out.put((byte) 0);
        } else {
            out.put((byte) 1).putInt(s.length).put(s);
        }
    }

    private static String str(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("corrupt journal record: bad string length " + n);
        }
        String s = new String(in.array(), in.arrayOffset() + in.position(), n, StandardCharsets.UTF_8);
        in.position(in.position() + n);
        return s;
    }

    /** Skips a string (its length and bytes). */
    private static void skip(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("corrupt journal record: bad string length " + n);
        }
        in.position(in.position() + n);
    }

        private static String optional(ByteBuffer in) {
        return in.get() == 0 ? null : str(in);
    }

    private static byte[] bytes(ByteBuffer in, int n) {
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("corrupt journal record: bad length " + n);
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
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
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }
}
