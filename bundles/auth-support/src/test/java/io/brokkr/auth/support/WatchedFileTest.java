package io.brokkr.auth.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watched file with a reader of lines that refuses a line "bad" (a parse error): real files, real polling. */
class WatchedFileTest {

    static final class ParseError extends Exception {
        ParseError(String m) {
            super(m);
        }
    }

    static List<String> read(Path f) throws Exception {
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).equals("bad")) {
                throw new ParseError("line " + (i + 1) + ": bad");
            }
        }
        return List.copyOf(lines);
    }

    static WatchedFile<List<String>> watched() {
        return new WatchedFile<>(null, "Test file", "test-reload", List.of(), WatchedFileTest::read,
                l -> l.size() + " line(s)", () -> "nothing");
    }

    static void await(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /** Writes a file as editors and tools that replace it atomically do, so the poller never sees half of it. */
    static void write(Path f, String content) throws Exception {
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void readsChangesKeepsTheLastGoodContentAndSwitchesFiles(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("a.txt");
        try (WatchedFile<List<String>> w = watched()) {
            w.watch(f, 20);
            assertEquals(List.of(), w.current());
            assertEquals("no such file", w.lastError());
            assertEquals(0, w.loads());

            write(f, "one\ntwo\n");
            await(() -> w.current().equals(List.of("one", "two")), "the new file read");
            assertNull(w.lastError());
            assertEquals(1, w.loads());

            // replaced atomically with content that does not parse: the lines read before stay in force
            write(f, "three\nbad\n");
            await(() -> "line 2: bad".equals(w.lastError()), "the parse error noticed");
            assertEquals(List.of("one", "two"), w.current());

            Files.delete(f);
            w.reloadNow();
            assertEquals("no such file", w.lastError());
            assertEquals(List.of("one", "two"), w.current(), "a file gone keeps what was read");

            Path b = dir.resolve("b.txt");
            Files.writeString(b, "x\n");
            w.watch(b, 20);
            assertEquals(b, w.file());
            assertEquals(List.of("x"), w.current(), "another file: read at once, nothing of the first kept");
            assertEquals(2, w.loads());
        }
    }

    @Test
    void resolvesKarafEtc() {
        String before = System.getProperty("karaf.etc");
        try {
            System.setProperty("karaf.etc", "/opt/karaf/etc");
            assertEquals(Path.of("/opt/karaf/etc/brokkr.acl"), WatchedFile.resolve(" ${karaf.etc}/brokkr.acl "));
            System.clearProperty("karaf.etc");
            assertEquals(Path.of("etc/brokkr.acl"), WatchedFile.resolve("${karaf.etc}/brokkr.acl"));
            assertTrue(WatchedFile.resolve("/x/y").isAbsolute());
        } finally {
            if (before != null) {
                System.setProperty("karaf.etc", before);
            }
        }
    }
}
