package io.brokkr.connector.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.storage.SinkRecord;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JDBC connector when its server stops, stops answering, or is down when the sink starts. */
class JdbcSinkOutageTest extends JdbcSinkTestSupport {

    @AfterEach
    void serverRunsAgain() throws Exception {
        pg.ensureRunning();   // also after a failed test, so that the next one does not fail for that
    }

    @Test
    void aStoppedServerFailsTheWriteAndTheSameBatchSucceedsOnceItIsBack() throws Exception {
        JdbcSink sink = sink(config("outage", "table", "t_outage"));   // default timeouts: 5 s connect, 10 s socket
        write(sink, records("o", 0, 100, 4));

        pg.stopServer();
        List<SinkRecord> batch = records("o", 50, 200, 4);   // 50..99 are stored already
        for (int attempt = 0; attempt < 2; attempt++) {   // on the dead connection, then with none
            long start = System.nanoTime();
            String message = failure(sink, batch);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 15_000, "failed after " + millis + " ms");
            assertTrue(message.startsWith("connector io.brokkr.connector.jdbc~outage: writing 200 records to table "
                    + "t_outage at " + pg.url() + " failed: Connection to 127.0.0.1:" + pg.port() + " refused."),
                    message);
        }

        pg.startServer();
        write(sink, batch);
        assertEquals(250, count("t_outage"));
        assertEquals(250, distinctIds("t_outage"));
    }

    @Test
    void aServerThatStopsAnsweringFailsTheWriteWithinTheSocketTimeout() throws Exception {
        JdbcSink sink = sink(config("hang", "table", "t_hang", "connect.timeout.seconds", "2",
                "socket.timeout.seconds", "2"));
        write(sink, records("h", 0, 10, 1));

        pg.signal("STOP");   // the kernel still accepts connections, nothing answers
        try {
            List<SinkRecord> batch = records("h", 5, 20, 1);
            for (int attempt = 0; attempt < 2; attempt++) {   // on the open connection, then on a new one
                long start = System.nanoTime();
                String message = failure(sink, batch);
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(millis >= 1_900 && millis < 8_000, "failed after " + millis + " ms: " + message);
                assertTrue(message.startsWith("connector io.brokkr.connector.jdbc~hang: writing 20 records to table "
                        + "t_hang at " + pg.url() + " failed: "), message);
                assertTrue(message.contains("(no answer within socket.timeout.seconds=2)"), message);
            }
        } finally {
            pg.signal("CONT");
        }
        write(sink, records("h", 5, 20, 1));
        assertEquals(25, count("t_hang"));
        assertEquals(25, distinctIds("t_hang"));
    }

    @Test
    void aServerDownWhenTheSinkStartsIsNoErrorUntilAWrite() throws Exception {
        pg.stopServer();
        JdbcSink sink;
        try {
            sink = sink(config("late", "table", "t_late"));
            String message = failure(sink, records("l", 0, 3, 1));
            assertTrue(message.contains("failed: Connection to 127.0.0.1:" + pg.port() + " refused."), message);
        } finally {
            pg.startServer();
        }
        write(sink, records("l", 0, 3, 1));
        assertEquals(3, count("t_late"));
    }
}
