package io.brokkr.connector.jdbc;

import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link MessageSink} writing each record as one row of a PostgreSQL table (see {@link PgWriter}), one component per
 * factory configuration {@code etc/io.brokkr.connector.jdbc-NAME.cfg}.
 *
 * <p>{@code write} runs on the sink's thread and blocks until the batch is committed or has failed; it never takes
 * longer than about {@code connect.timeout.seconds + socket.timeout.seconds}. A changed configuration is applied
 * without a reactivation ({@link Modified}): the next write uses it, on a new connection if the URL, the credentials
 * or the timeouts changed.
 */
@Component(name = JdbcSink.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = MessageSink.class)
@Designate(ocd = JdbcSinkConfig.class, factory = true)
public class JdbcSink implements MessageSink {

    static final String PID = "io.brokkr.connector.jdbc";
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSink.class);

    private final PgWriter writer = new PgWriter();
    private volatile Settings settings;
    /** Whether the last write failed (sink's thread): a failure is logged once, not at every retry. */
    private boolean failing;

    @Activate
    void activate(Map<String, Object> config) {
        configure(config);
    }

    @Modified
    void modified(Map<String, Object> config) {
        configure(config);
    }

    @Deactivate
    void deactivate() {
        writer.close();
    }

    private void configure(Map<String, Object> config) {
        Settings s = Settings.from(config);
        if (s.error() != null) {
            LOG.error("connector {}: {}", s.name(), s.error());
        }
        settings = s;
    }

    @Override
    public CompletionStage<Void> write(List<SinkRecord> batch) {
        Settings s = settings;
        if (s.error() != null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("connector " + s.name() + ": "
                    + s.error()));
        }
        try {
            writer.write(s, batch);
        } catch (SQLException | RuntimeException e) {
            String message = "connector " + s.name() + ": writing " + batch.size() + " records to table " + s.table()
                    + " at " + s.where() + " failed: " + describe(e, s);
            if (!failing) {
                LOG.warn(message);
                failing = true;
            }
            return CompletableFuture.failedFuture(new IllegalStateException(message, e));
        }
        if (failing) {
            LOG.info("connector {}: writing to table {} at {} again", s.name(), s.table(), s.where());
            failing = false;
        }
        return CompletableFuture.completedFuture(null);
    }

    /** The driver's message, with its root cause and SQLState (the driver's I/O messages leave the cause out). */
    static String describe(Exception e, Settings s) {
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != e && root.getMessage() != null && !sb.toString().contains(root.getMessage())) {
            sb.append(" (").append(root.getMessage()).append(')');
        }
        if (PgWriter.timedOut(e)) {
            sb.append(" (no answer within socket.timeout.seconds=").append(s.socketTimeoutSeconds()).append(')');
        }
        if (e instanceof SQLException sql && sql.getSQLState() != null) {
            sb.append(" [SQLState ").append(sql.getSQLState()).append(']');
        }
        return sb.toString();
    }
}
