package io.brokkr.broker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The journal's cfg keys: {@code journal.fsync}, {@code journal.fsync.interval.ms}, {@code journal.max.bytes}. */
class JournalKeysTest {

    @Test
    void defaultsForceEverySecondAndLeaveTheBoundToTheJournal() {
        BrokerConfig c = BrokerConfig.fromProperties(Map.of());
        assertEquals("interval", c.journalFsync());
        assertEquals(1000, c.journalFsyncIntervalMs());
        assertEquals(BrokerConfig.JOURNAL_MAX_BYTES_DEFAULT, c.journalMaxBytes());
    }

    @Test
    void valuesAreReadAndBadOnesKeepTheCurrentValueWithAnErrorNamingTheKey() {
        BrokerConfig c = BrokerConfig.fromProperties(Map.of("journal.fsync", "Always", "journal.fsync.interval.ms",
                "250", "journal.max.bytes", "0"));
        assertEquals("always", c.journalFsync());
        assertEquals(250, c.journalFsyncIntervalMs());
        assertEquals(0, c.journalMaxBytes());

        List<String> errors = new ArrayList<>();
        BrokerConfig d = BrokerConfig.fromProperties(Map.of("journal.fsync", "sometimes", "journal.fsync.interval.ms",
                "0", "journal.max.bytes", "-5"), c, errors);
        assertEquals("always", d.journalFsync());
        assertEquals(250, d.journalFsyncIntervalMs());
        assertEquals(0, d.journalMaxBytes());
        assertEquals(3, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("journal.fsync: 'sometimes' is not one of always, interval"), errors.get(0));
    }
}
