package io.brokkr.connector.redis;

import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
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
 * The Redis connector: one instance per factory configuration {@code etc/io.brokkr.connector.redis-NAME.cfg}.
 *
 * <p>Connects lazily: the client is made by the first {@link #write} (and again after a failure to make it), so a
 * server that is down at activation is not an error. A bad configuration is logged once as
 * {@code connector NAME: reason} and fails every write with that reason, so the broker lists the sink with its error.
 * A changed configuration ({@link #modified}) applies to the next write; a new client is made only if the connection
 * keys changed. Writes are synchronous on the broker's sink thread and bounded by {@code timeout.ms}.
 */
@Component(name = "io.brokkr.connector.redis", configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = MessageSink.class)
@Designate(ocd = RedisSinkConfig.class, factory = true)
public class RedisSink implements MessageSink {

    private static final Logger LOG = LoggerFactory.getLogger(RedisSink.class);

    private String name = "io.brokkr.connector.redis";
    /** The parsed configuration, or null if it is bad ({@link #configError} then says why). */
    private Settings settings;
    private String configError;
    /** The client for {@code settings.endpoint()}, made by the first write; null until then and after a failure. */
    private RedisWriter writer;
    private boolean closed;

    @Activate
    public synchronized void activate(Map<String, Object> properties) {
        Object pid = properties.get("service.pid");
        Object component = properties.get("component.name");
        Object sinkName = properties.get(MessageSink.NAME);
        name = String.valueOf(sinkName != null ? sinkName : pid != null ? pid : component != null ? component : name);
        closed = false;
        configure(properties);
    }

    @Modified
    public synchronized void modified(Map<String, Object> properties) {
        configure(properties);
    }

    @Deactivate
    public synchronized void deactivate() {
        closed = true;
        closeWriter();
    }

    private void configure(Map<String, Object> properties) {
        try {
            Settings next = Settings.parse(properties);
            if (writer != null && !writer.endpoint().equals(next.endpoint())) {
                closeWriter();
            }
            settings = next;
            configError = null;
            LOG.info("connector {}: {} layout {} key.prefix '{}'", name, next.endpoint(),
                    next.layout().name().toLowerCase(java.util.Locale.ROOT), next.keyPrefix());
        } catch (IllegalArgumentException e) {
            settings = null;
            configError = "bad configuration: " + e.getMessage();
            closeWriter();
            LOG.error("connector {}: {}", name, configError);
        }
    }

    /**
     * Writes the batch in one pipeline and completes once Redis has answered every command; completes exceptionally
     * with a message naming the server and the cause (bad configuration, connection refused, timeout, auth, a
     * rejected command).
     */
    @Override
    public synchronized CompletionStage<Void> write(List<SinkRecord> batch) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("connector " + name + " is closed"));
        }
        if (settings == null) {
            return CompletableFuture.failedFuture(new IllegalStateException(configError));
        }
        Settings s = settings;
        try {
            if (writer == null) {
                writer = RedisWriter.open(s.endpoint(), clientName());
            }
            writer.write(batch, s);
            return CompletableFuture.completedFuture(null);
        } catch (Exception e) {
            if (!(e instanceof IllegalStateException)) {
                // a connection problem: make a new client (and re-read a cluster's slots) on the next attempt
                closeWriter();
            }
            return CompletableFuture.failedFuture(new IllegalStateException(s.endpoint().describe() + ": "
                    + describe(e), e));
        }
    }

    /** The CLIENT SETNAME of this sink's connections (no spaces allowed). */
    private String clientName() {
        return "brokkr:" + name.replaceAll("\\s", "_");
    }

    /**
     * The exception's message followed by its causes' where they add something; Jedis reports a failed connect with
     * the reason of each address tried as a suppressed exception ("Failed to connect to h:p." + "Connection refused").
     */
    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        String last = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (last == null || !last.contains(m)) {
                sb.append(sb.length() == 0 ? "" : ": ").append(m);
                last = m;
            }
            if (t.getCause() == null && t.getSuppressed().length > 0) {
                Throwable s = t.getSuppressed()[0];
                while (s.getCause() != null && s.getCause() != s) {
                    s = s.getCause();
                }
                sb.append(": ").append(s.getMessage() == null ? s.getClass().getSimpleName() : s.getMessage());
            }
        }
        return sb.toString();
    }

    private void closeWriter() {
        if (writer != null) {
            try {
                writer.close();
            } catch (RuntimeException e) {
                LOG.debug("connector {}: closing the client: {}", name, e.toString());
            }
            writer = null;
        }
    }
}
