package io.brokkr.broker.it;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests of the sinks' journal in a running broker: each test starts its own broker (a test may restart it) with the
 * journal in the test's own directory, and the broker is stopped after the test.
 */
abstract class JournalBrokerTestBase {

    @TempDir
    Path dir;
    /** The broker the test started, or null. */
    Broker broker;

    /** $SYS off and the journal in this test's directory; a test adds what it needs. */
    BrokerConfig journalConfig() {
        return BrokerConfig.defaults().sysInterval(0).journalDir(dir.toString());
    }

    @AfterEach
    void stopBroker() {
        if (broker != null) {
            broker.stop();
        }
    }
}
