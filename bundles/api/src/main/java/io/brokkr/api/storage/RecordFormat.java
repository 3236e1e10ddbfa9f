package io.brokkr.api.storage;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Turns a {@link SinkRecord} into the fields a connector writes, the same way for every store, as configured by a
 * sink's {@value MessageSink#FORMAT} and {@value MessageSink#FIELDS} keys.
 *
 * <p>Fields, in this order: {@code id} (the record id), {@code sender} (publisher client id), {@code user}
 * (publisher user name), {@code topic}, {@code payload}, {@code qos}, {@code retain}, {@code properties} (MQTT 5:
 * {@code payloadFormatIndicator}, {@code messageExpiryInterval}, {@code contentType}, {@code responseTopic},
 * {@code correlationData} in base64, {@code userProperties} as a list of {@code {name, value}}; only those present),
 * {@code time} (epoch milliseconds at which the broker received the message) and {@code datetime} (the same as
 * ISO-8601 UTC, {@code 2026-11-29T23:59:01.123Z}). Absent values (no user, no properties) are left out.
 *
 * <p>Payload: {@code text} writes it as a UTF-8 string; {@code json} writes the parsed JSON value (object, array,
 * string, number, boolean) so that a store can index its fields; {@code base64} writes base64. A payload that is not
 * valid in the chosen form (bytes that are not UTF-8, text that is not JSON) falls back to text, then base64, and the
 * record gets a {@code payloadEncoding} field ({@code text} or {@code base64}) saying what was written.
 */
public final class RecordFormat {

    /** The fields a record can have, in output order. */
    public enum Field {
        ID, SENDER, USER, TOPIC, PAYLOAD, QOS, RETAIN, PROPERTIES, TIME, DATETIME;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How the payload is written. */
    public enum Payload { TEXT, JSON, BASE64 }

    public static final RecordFormat DEFAULT = new RecordFormat(Payload.TEXT, EnumSet.allOf(Field.class));

    private final Payload payload;
    private final Set<Field> fields;

    public RecordFormat(Payload payload, Set<Field> fields) {
        this.payload = payload;
        this.fields = fields.isEmpty() ? EnumSet.noneOf(Field.class) : EnumSet.copyOf(fields);
    }

    /**
     * Reads {@value MessageSink#FORMAT} and {@value MessageSink#FIELDS} from a configuration.
     *
     * @throws IllegalArgumentException with a message naming the bad value
     */
    public static RecordFormat from(Map<String, ?> config) {
        Object f = config.get(MessageSink.FORMAT);
        Payload p = Payload.TEXT;
        if (f != null && !f.toString().isBlank()) {
            try {
                p = Payload.valueOf(f.toString().trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("format must be text, json or base64, was '" + f + "'");
            }
        }
        Object fl = config.get(MessageSink.FIELDS);
        Set<Field> set = EnumSet.allOf(Field.class);
        if (fl != null && !fl.toString().isBlank()) {
            set = EnumSet.noneOf(Field.class);
            for (String name : split(fl)) {
                try {
                    set.add(Field.valueOf(name.toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("fields: unknown field '" + name + "' (known: "
                            + Arrays.stream(Field.values()).map(Field::key).toList() + ")");
                }
            }
        }
        return new RecordFormat(p, set);
    }

    /** Splits a String, String[] or Collection configuration value at commas, trimmed, without empty parts. */
    public static List<String> split(Object value) {
        List<String> out = new ArrayList<>();
        if (value == null) {
            return out;
        }
        Collection<?> parts = value instanceof Object[] a ? Arrays.asList(a)
                : value instanceof Collection<?> c ? c : List.of(value);
        for (Object part : parts) {
            for (String s : String.valueOf(part).split(",")) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
        }
        return out;
    }

    public Payload payload() {
        return payload;
    }

    public boolean has(Field field) {
        return fields.contains(field);
    }

    /**
     * The record's fields as an ordered map of Strings, Longs, Integers, Booleans, Doubles, Lists and Maps (the shape
     * a document store or {@link #toJson(Object)} takes).
     */
    public Map<String, Object> toMap(SinkRecord record) {
        Map<String, Object> out = new LinkedHashMap<>();
        forEachField(record, out::put);
        return out;
    }

    /**
     * Hands the record's fields to {@code out} in order, as the names and values {@link #toMap} would hold, without
     * building the map: for a connector that encodes each field as it comes (the Redis connector's {@code XADD}).
     *
     * @since 3.1
     */
    public void forEachField(SinkRecord record, BiConsumer<String, Object> out) {
        Message m = record.message();
        if (has(Field.ID)) {
            out.accept("id", record.id());
        }
        if (has(Field.SENDER) && m.publisherId() != null) {
            out.accept("sender", m.publisherId());
        }
        if (has(Field.USER) && record.username() != null) {
            out.accept("user", record.username());
        }
        if (has(Field.TOPIC)) {
            out.accept("topic", m.topic());
        }
        if (has(Field.PAYLOAD)) {
            putPayload(out, m.payload());
        }
        if (has(Field.QOS)) {
            out.accept("qos", m.qos());
        }
        if (has(Field.RETAIN)) {
            out.accept("retain", m.retain());
        }
        if (has(Field.PROPERTIES) && !m.properties().isEmpty()) {
            out.accept("properties", properties(m.properties()));
        }
        if (has(Field.TIME)) {
            out.accept("time", m.timestamp());
        }
        if (has(Field.DATETIME)) {
            out.accept("datetime", isoDateTime(m.timestamp()));
        }
    }

    /**
     * A whole second as {@link #isoDateTime} formats it, without the zone ({@code 2026-11-29T23:59:01}). Immutable, so
     * that the sinks' threads can share the last one through a plain field.
     */
    private record Second(long epochSecond, String text) { }

    /** The second {@link #isoDateTime} formatted last (records written together mostly share it). */
    private static Second lastSecond = new Second(Long.MIN_VALUE, "");

    /**
     * {@code Instant.ofEpochMilli(millis).toString()} ({@code 2026-11-29T23:59:01.123Z}; {@code ...:01Z} on a whole
     * second), with the date and time of day formatted once per second instead of once per record: the JDK's
     * formatter took a tenth of a Redis sink thread's time.
     */
    static String isoDateTime(long millis) {
        long second = Math.floorDiv(millis, 1000L);
        int ms = (int) Math.floorMod(millis, 1000L);
        Second s = lastSecond;
        if (s.epochSecond() != second) {
            String whole = Instant.ofEpochSecond(second).toString();
            s = new Second(second, whole.substring(0, whole.length() - 1));
            lastSecond = s;
        }
        if (ms == 0) {
            return s.text() + 'Z';
        }
        return s.text() + (ms < 10 ? ".00" : ms < 100 ? ".0" : ".") + ms + 'Z';
    }

    /** The record as one JSON object (the fields of {@link #toMap}). */
    public String toJson(SinkRecord record) {
        return toJson(toMap(record));
    }

    private void putPayload(BiConsumer<String, Object> out, byte[] bytes) {
        String text = payload == Payload.BASE64 ? null : utf8(bytes);
        if (payload == Payload.JSON && text != null) {
            try {
                out.accept("payload", Json.parse(text));
                return;
            } catch (IllegalArgumentException notJson) {
                out.accept("payload", text);
                out.accept("payloadEncoding", "text");
                return;
            }
        }
        if (text != null) {
            out.accept("payload", text);
            return;
        }
        out.accept("payload", Base64.getEncoder().encodeToString(bytes));
        if (payload != Payload.BASE64) {
            out.accept("payloadEncoding", "base64");
        }
    }

    private static Map<String, Object> properties(MessageProperties p) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (p.payloadFormatIndicator() != null) {
            out.put("payloadFormatIndicator", p.payloadFormatIndicator());
        }
        if (p.messageExpiryInterval() != null) {
            out.put("messageExpiryInterval", p.messageExpiryInterval());
        }
        if (p.contentType() != null) {
            out.put("contentType", p.contentType());
        }
        if (p.responseTopic() != null) {
            out.put("responseTopic", p.responseTopic());
        }
        if (p.correlationData() != null) {
            out.put("correlationData", Base64.getEncoder().encodeToString(p.correlationData()));
        }
        if (!p.userProperties().isEmpty()) {
            List<Map<String, Object>> ups = new ArrayList<>();
            for (UserProperty up : p.userProperties()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("name", up.name());
                e.put("value", up.value());
                ups.add(e);
            }
            out.put("userProperties", ups);
        }
        return out;
    }

    /** The bytes as a String if they are valid UTF-8, else null. */
    public static String utf8(byte[] bytes) {
        // checked first, then decoded by the String constructor: a decoder that reports malformed input throws an
        // exception for each payload that is not text (a binary payload in every record costs microseconds)
        return wellFormedUtf8(bytes) ? new String(bytes, StandardCharsets.UTF_8) : null;
    }

    /**
     * Whether the bytes are well-formed UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates, nothing above
     * U+10FFFF, no cut sequence; what the JDK's UTF-8 decoder accepts when it reports malformed input.
     */
    static boolean wellFormedUtf8(byte[] b) {
        int n = b.length;
        int i = 0;
        while (i < n) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                i++;
            } else if (c < 0xC2) {
                return false;
            } else if (c < 0xE0) {
                if (i + 1 >= n || !continuation(b[i + 1])) {
                    return false;
                }
                i += 2;
            } else if (c < 0xF0) {
                if (i + 2 >= n) {
                    return false;
                }
                int c1 = b[i + 1] & 0xFF;
                if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || !continuation(b[i + 1])
                        || !continuation(b[i + 2])) {
                    return false;
                }
                i += 3;
            } else if (c < 0xF5) {
                if (i + 3 >= n) {
                    return false;
                }
                int c1 = b[i + 1] & 0xFF;
                if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F) || !continuation(b[i + 1])
                        || !continuation(b[i + 2]) || !continuation(b[i + 3])) {
                    return false;
                }
                i += 4;
            } else {
                return false;
            }
        }
        return true;
    }

    private static boolean continuation(byte b) {
        return (b & 0xC0) == 0x80;
    }

    /** Writes a value made of Maps, Lists, Strings, Numbers, Booleans and nulls as JSON. */
    public static String toJson(Object value) {
        StringBuilder sb = new StringBuilder(128);
        Json.write(sb, value);
        return sb.toString();
    }

    /** Parses JSON text into Maps, Lists, Strings, Longs, Doubles, Booleans and nulls. */
    public static Object parseJson(String text) {
        return Json.parse(text);
    }
}
