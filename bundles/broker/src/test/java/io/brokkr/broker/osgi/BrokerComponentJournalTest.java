package io.brokkr.broker.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.JournalInfo;
import io.brokkr.api.storage.MessageSink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Constants;

/**
 * The broker service (the DS component) shows the journal ({@code BrokerService.journal()}, for mqtt:connectors) and
 * says that a change of the journal's cfg keys waits for a restart.
 */
class BrokerComponentJournalTest {

    @TempDir
    Path dir;
    private final BrokerComponent component = new BrokerComponent();

    @AfterEach
    void stop() {
        component.deactivate();
    }

    private Map<String, Object> cfg(String fsync) {
        Map<String, Object> p = new HashMap<>();
        p.put("sys.interval", "0");
        p.put("journal.dir", dir.toString());
        p.put("journal.fsync", fsync);
        p.put("journal.max.bytes", "1048576");
        return p;
    }

    @Test
    void theServiceShowsTheJournalAndAJournalCfgChangeWaitsForARestart() {
        component.activate(cfg("interval"));
        assertNull(component.journal(), "no journal before the first sink");
        MessageSink sink = batch -> CompletableFuture.completedFuture(null);
        component.bindMessageSink(sink, Map.of(Constants.SERVICE_ID, 1L, Constants.SERVICE_PID,
                "io.brokkr.connector.test~a", "topics", "t/#"));
        JournalInfo j = component.journal();
        assertNotNull(j);
        assertEquals(dir.toString(), j.dir());
        assertEquals("interval", j.fsync());
        assertEquals(1000, j.fsyncIntervalMs());
        assertEquals(1048576, j.maxBytes());
        assertEquals("io.brokkr.connector.test~a", j.biggestBacklog());

        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8)); // slf4j-simple writes there
        try {
            component.modified(cfg("always"));
        } finally {
            System.setErr(err);
        }
        String logged = log.toString(StandardCharsets.UTF_8);
        assertTrue(logged.contains("journal.max.bytes changed; they take effect when the broker restarts"), logged);
        assertEquals("interval", component.journal().fsync(), "the open journal keeps its policy");
    }
}
