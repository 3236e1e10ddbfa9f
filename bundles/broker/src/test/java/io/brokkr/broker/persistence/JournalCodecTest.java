package io.brokkr.broker.persistence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The journal record body, format version 1: the bytes are what journals written before hold (a broker reads the
 * backlog of an older one after an update), and what is encoded decodes to the same message.
 */
class JournalCodecTest {

    private static final byte[] PAYLOAD = "21.5°".getBytes(StandardCharsets.UTF_8);

    /** Format version 1 written field by field with DataOutputStream, as the first version of the codec did. */
    private static byte[] v1(Message m, String username) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(1);
            out.writeByte(m.qos() | (m.retain() ? 4 : 0));
            out.writeLong(m.timestamp());
            str(out, m.topic());
            opt(out, m.publisherId());
            opt(out, username);
            MessageProperties p = m.properties();
            if (p.isEmpty()) {
                out.writeByte(0);
            } else {
                out.writeByte(1);
                out.writeInt(p.payloadFormatIndicator() == null ? -1 : p.payloadFormatIndicator());
                out.writeLong(p.messageExpiryInterval() == null ? -1 : p.messageExpiryInterval());
                opt(out, p.contentType());
                opt(out, p.responseTopic());
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
        }
        return bytes.toByteArray();
    }

    private static void str(DataOutputStream out, String s) throws Exception {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static void opt(DataOutputStream out, String s) throws Exception {
        if (s == null) {
            out.writeByte(0);
        } else {
            out.writeByte(1);
            str(out, s);
        }
    }

    private static void assertSameMessage(Message expected, String user, JournalCodec.Entry e) {
        Message m = e.message();
        assertEquals(expected.topic(), m.topic());
        assertArrayEquals(expected.payload(), m.payload());
        assertEquals(expected.qos(), m.qos());
        assertEquals(expected.retain(), m.retain());
        assertEquals(expected.publisherId(), m.publisherId());
        assertEquals(expected.timestamp(), m.timestamp());
        assertEquals(user, e.username());
        MessageProperties a = expected.properties();
        MessageProperties b = m.properties();
        assertEquals(a.payloadFormatIndicator(), b.payloadFormatIndicator());
        assertEquals(a.messageExpiryInterval(), b.messageExpiryInterval());
        assertEquals(a.contentType(), b.contentType());
        assertEquals(a.responseTopic(), b.responseTopic());
        assertArrayEquals(a.correlationData(), b.correlationData());
        assertEquals(a.userProperties(), b.userProperties());
    }

    @Test
    void aMessageWithoutPropertiesIsEncodedInFormatOneAndDecodedBack() throws Exception {
        Message m = new Message("plant/ä/temp", PAYLOAD, 1, true, MessageProperties.NONE, "sensor-7", 1_795_996_741_123L);
        byte[] body = JournalCodec.encode(m, "alice");
        assertArrayEquals(v1(m, "alice"), body);
        assertSameMessage(m, "alice", JournalCodec.decode(body));
        assertEquals("plant/ä/temp", JournalCodec.topic(body));

        Message anonymous = new Message("t", new byte[0], 0, false, MessageProperties.NONE, null, 1L);
        byte[] b2 = JournalCodec.encode(anonymous, null);
        assertArrayEquals(v1(anonymous, null), b2);
        JournalCodec.Entry e = JournalCodec.decode(b2);
        assertSameMessage(anonymous, null, e);
        assertNull(e.message().publisherId());
    }

    @Test
    void propertiesAreEncodedInFormatOneAndDecodedBack() throws Exception {
        MessageProperties p = new MessageProperties(1, 3600L, "application/json", "reply/x", new byte[] {1, 2, 3},
                List.of(new UserProperty("site", "north"), new UserProperty("site", "süd")));
        Message m = new Message("a/b", PAYLOAD, 2, false, p, "c", 42L);
        byte[] body = JournalCodec.encode(m, null);
        assertArrayEquals(v1(m, null), body);
        assertSameMessage(m, null, JournalCodec.decode(body));

        MessageProperties some = new MessageProperties(null, null, null, null, null,
                List.of(new UserProperty("k", "v")));
        Message m2 = new Message("a", PAYLOAD, 1, false, some, "c", 42L);
        assertArrayEquals(v1(m2, "u"), JournalCodec.encode(m2, "u"));
        assertSameMessage(m2, "u", JournalCodec.decode(JournalCodec.encode(m2, "u")));
    }

    @Test
    void aCutOrCorruptBodyIsRefusedWithIllegalArgumentException() {
        byte[] body = JournalCodec.encode(new Message("a/b", PAYLOAD, 1, false, MessageProperties.NONE, "c", 42L), "u");
        for (int len = 0; len < body.length; len++) {
            byte[] cut = Arrays.copyOf(body, len);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JournalCodec.decode(cut),
                    "cut at " + len);
            assertEquals(true, e.getMessage().startsWith("corrupt journal record") || len == 0
                    || e.getMessage().startsWith("unknown journal record version"), e.getMessage());
        }
        byte[] badLength = body.clone();
        badLength[10] = 0x7f; // the topic's length
        assertThrows(IllegalArgumentException.class, () -> JournalCodec.decode(badLength));
        assertThrows(IllegalArgumentException.class, () -> JournalCodec.topic(badLength));
        byte[] badVersion = body.clone();
        badVersion[0] = 9;
        assertThrows(IllegalArgumentException.class, () -> JournalCodec.decode(badVersion));
    }
}
