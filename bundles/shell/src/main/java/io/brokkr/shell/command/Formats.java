package io.brokkr.shell.command;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

import io.brokkr.api.ProtocolVersion;
import org.apache.karaf.shell.support.CommandException;

/** Text formatting shared by the mqtt:* commands. */
final class Formats {

    /** Session Expiry Interval meaning "never expires". */
    static final long NEVER_EXPIRES = 0xFFFFFFFFL;

    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Formats() {
    }

    /**
     * A command failure for bad input: the shell prints exactly "Error: ..." (no stack trace, no ERROR log entry)
     * and the command fails.
     */
    static CommandException error(String message) {
        String text = "Error: " + message;
        return new CommandException(text, text);
    }

    static String timestamp(long epochMillis) {
        return epochMillis <= 0 ? "-" : TIMESTAMP.format(Instant.ofEpochMilli(epochMillis));
    }

    /** "3d 4h 5m 6s", "5m 0s", "42s". */
    static String duration(long seconds) {
        if (seconds < 0) {
            seconds = 0;
        }
        long d = seconds / 86400;
        long h = seconds % 86400 / 3600;
        long m = seconds % 3600 / 60;
        long s = seconds % 60;
        StringBuilder sb = new StringBuilder();
        if (d > 0) {
            sb.append(d).append("d ");
        }
        if (d > 0 || h > 0) {
            sb.append(h).append("h ");
        }
        if (d > 0 || h > 0 || m > 0) {
            sb.append(m).append("m ");
        }
        return sb.append(s).append('s').toString();
    }

    static String protocol(ProtocolVersion version) {
        return version == null ? "-" : "MQTT " + version.label();
    }

    static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    static String orDash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    static String keepAlive(int seconds) {
        return seconds <= 0 ? "none" : seconds + "s";
    }

    /** Session expiry: "never", "on disconnect", or the interval (and for an offline session the time left). */
    static String expiry(long interval, boolean connected, long disconnectedAt, long nowMillis) {
        if (interval >= NEVER_EXPIRES) {
            return "never";
        }
        if (interval <= 0) {
            return "on disconnect";
        }
        String s = duration(interval);
        if (!connected && disconnectedAt > 0) {
            long left = interval - (nowMillis - disconnectedAt) / 1000;
            s += " (" + duration(Math.max(0, left)) + " left)";
        }
        return s;
    }

    /**
     * Payload preview: the text if the payload is valid UTF-8 without control characters (tab, CR and LF are shown
     * as \t, \r, \n), otherwise "0x" followed by hex digits; cut to {@code max} characters with a trailing "...".
     */
    static String preview(byte[] payload, int max) {
        if (payload.length == 0) {
            return "(empty)";
        }
        String text = printableUtf8(payload);
        String s;
        if (text != null) {
            s = text;
        } else {
            int bytes = Math.min(payload.length, Math.max(1, max / 2));
            StringBuilder sb = new StringBuilder(2 + bytes * 2).append("0x");
            for (int i = 0; i < bytes; i++) {
                sb.append(HEX[(payload[i] >> 4) & 0xF]).append(HEX[payload[i] & 0xF]);
            }
            s = sb.toString();
            if (bytes < payload.length) {
                return s + "...";
            }
        }
        if (s.length() > max) {
            return s.substring(0, Math.max(0, max)) + "...";
        }
        return s;
    }

    /** Decodes strictly as UTF-8; null if invalid or if it contains control characters other than \t \r \n. */
    static String printableUtf8(byte[] payload) {
        CharBuffer chars;
        try {
            chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(payload));
        } catch (CharacterCodingException e) {
            return null;
        }
        StringBuilder sb = new StringBuilder(chars.length());
        for (int i = 0; i < chars.length(); i++) {
            char c = chars.charAt(i);
            switch (c) {
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                            || Character.getType(c) == Character.UNASSIGNED) {
                        return null;
                    }
                    sb.append(c);
                }
            }
        }
        return sb.toString();
    }

    static byte[] parseHex(String hex) {
        String h = hex.startsWith("0x") || hex.startsWith("0X") ? hex.substring(2) : hex;
        h = h.replace(" ", "").replace(":", "");
        if (h.length() % 2 != 0) {
            throw new IllegalArgumentException("odd number of hex digits");
        }
        byte[] out = new byte[h.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = Character.digit(h.charAt(2 * i), 16);
            int lo = Character.digit(h.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not a hex digit at position " + (2 * i));
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }
}
