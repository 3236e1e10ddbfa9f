package io.brokkr.broker.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.brokkr.api.storage.RecordFormat;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link RecordFormat#utf8}, which decides whether a sink writes a payload as text or falls back to base64, accepts
 * exactly what the JDK's UTF-8 decoder accepts when it reports malformed input, and decodes it the same.
 */
class RecordFormatUtf8Test {

    private static String jdk(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void boundariesOfWellFormedUtf8() {
        List<byte[]> valid = List.of(new byte[0], bytes(0), bytes(0x7F), bytes(0xC2, 0x80), bytes(0xDF, 0xBF),
                bytes(0xE0, 0xA0, 0x80), bytes(0xED, 0x9F, 0xBF), bytes(0xEE, 0x80, 0x80), bytes(0xEF, 0xBF, 0xBF),
                bytes(0xF0, 0x90, 0x80, 0x80), bytes(0xF4, 0x8F, 0xBF, 0xBF), "21.5 °C ä 😀".getBytes(StandardCharsets.UTF_8));
        for (byte[] b : valid) {
            assertEquals(jdk(b), RecordFormat.utf8(b));
            assertEquals(new String(b, StandardCharsets.UTF_8), RecordFormat.utf8(b));
        }
        List<byte[]> malformed = List.of(bytes(0x80), bytes(0xBF), bytes(0xC0, 0x80), bytes(0xC1, 0xBF), bytes(0xC2),
                bytes(0xC2, 0x41), bytes(0xE0, 0x9F, 0xBF), bytes(0xE0, 0xA0), bytes(0xED, 0xA0, 0x80),
                bytes(0xED, 0xBF, 0xBF), bytes(0xF0, 0x8F, 0xBF, 0xBF), bytes(0xF4, 0x90, 0x80, 0x80),
                bytes(0xF5, 0x80, 0x80, 0x80), bytes(0xFF), bytes(0xF0, 0x90, 0x80), bytes(0x41, 0xE2, 0x82));
        for (byte[] b : malformed) {
            assertNull(jdk(b));
            assertNull(RecordFormat.utf8(b));
        }
    }

    @Test
    void sameVerdictAsTheJdkDecoderOnRandomBytes() {
        Random r = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            byte[] b = new byte[r.nextInt(12)];
            for (int k = 0; k < b.length; k++) {
                // mostly bytes that start or continue multi-byte sequences, so that the rare valid ones occur too
                b[k] = (byte) (r.nextInt(4) == 0 ? r.nextInt(0x80) : 0x80 + r.nextInt(0x80));
            }
            assertEquals(jdk(b), RecordFormat.utf8(b), () -> java.util.HexFormat.of().formatHex(b));
        }
    }
}
