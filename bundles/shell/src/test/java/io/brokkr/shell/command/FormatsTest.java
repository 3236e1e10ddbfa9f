package io.brokkr.shell.command;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class FormatsTest {

    @Test
    void durations() {
        assertEquals("0s", Formats.duration(0));
        assertEquals("42s", Formats.duration(42));
        assertEquals("5m 0s", Formats.duration(300));
        assertEquals("1h 0m 1s", Formats.duration(3601));
        assertEquals("2d 0h 0m 5s", Formats.duration(2 * 86400 + 5));
    }

    @Test
    void expiry() {
        long now = 1_000_000_000L;
        assertEquals("never", Formats.expiry(0xFFFFFFFFL, false, now - 5000, now));
        assertEquals("on disconnect", Formats.expiry(0, true, 0, now));
        assertEquals("1m 0s", Formats.expiry(60, true, 0, now));
        assertEquals("1m 0s (50s left)", Formats.expiry(60, false, now - 10_000, now));
        assertEquals("1m 0s (0s left)", Formats.expiry(60, false, now - 100_000, now));
    }

    @Test
    void previewShowsPrintableUtf8AsText() {
        assertEquals("hello wörld", Formats.preview("hello wörld".getBytes(StandardCharsets.UTF_8), 60));
        assertEquals("a\\nb\\tc", Formats.preview("a\nb\tc".getBytes(StandardCharsets.UTF_8), 60));
        assertEquals("(empty)", Formats.preview(new byte[0], 60));
    }

    @Test
    void previewTruncates() {
        assertEquals("xxxxx...", Formats.preview("x".repeat(100).getBytes(StandardCharsets.UTF_8), 5));
        assertEquals("xxxxx", Formats.preview("xxxxx".getBytes(StandardCharsets.UTF_8), 5));
    }

    @Test
    void previewShowsBinaryAsHex() {
        assertEquals("0x000102ff", Formats.preview(new byte[] {0, 1, 2, (byte) 0xff}, 60));
        // invalid UTF-8
        assertEquals("0xc328", Formats.preview(new byte[] {(byte) 0xc3, 0x28}, 60));
        // control character
        assertEquals("0x610762", Formats.preview(new byte[] {'a', 7, 'b'}, 60));
        // 100 bytes, 10 character budget -> 5 bytes shown
        assertEquals("0x0000000000...", Formats.preview(new byte[100], 10));
    }

    @Test
    void parseHex() {
        assertArrayEquals(new byte[] {0, 1, (byte) 0xff}, Formats.parseHex("0x0001ff"));
        assertArrayEquals(new byte[] {(byte) 0xab, (byte) 0xcd}, Formats.parseHex("ab:cd"));
        assertThrows(IllegalArgumentException.class, () -> Formats.parseHex("abc"));
        assertThrows(IllegalArgumentException.class, () -> Formats.parseHex("zz"));
    }

    @Test
    void errorIsPrintedVerbatim() {
        assertEquals("Error: boom", Formats.error("boom").getNiceHelp());
        assertEquals("Error: boom", Formats.error("boom").getMessage());
    }
}
