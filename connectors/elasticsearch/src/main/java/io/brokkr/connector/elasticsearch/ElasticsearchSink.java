package io.brokkr.connector.elasticsearch;

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
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes MQTT messages into Elasticsearch: each batch is one {@code _bulk} request, each record one document whose
 * {@code _id} is the record id, in the index that {@code index} (a pattern with the message's date) names. One
 * component per factory configuration {@code etc/io.brokkr.connector.elasticsearch-NAME.cfg}.
 *
 * <p>Idempotency: with {@code op=create} (default) a re-written record meets its own document and gets
 * {@code version_conflict_engine_exception}, which is taken as "already written"; with {@code op=index} it overwrites
 * the document with the same content. Either way one document per record id.
 *
 * <p>A bad configuration does not fail the activation: it is logged once and every {@link #write} fails with it, so
 * that the broker lists the sink with that error. The server is contacted only by {@link #write}.
 */
@Component(name = "io.brokkr.connector.elasticsearch", configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = MessageSink.class,
        property = MessageSink.BATCH_SIZE + ":Integer=" + ElasticsearchSink.DEFAULT_BATCH_SIZE)
@Designate(ocd = ElasticsearchSink.Config.class, factory = true)
public class ElasticsearchSink implements MessageSink {

    private static final Logger LOG = LoggerFactory.getLogger(ElasticsearchSink.class);

    /**
     * The connector's {@code batch.size} unless configured: a service property of the component, which the broker
     * reads (other sinks get the broker's 500). Bulks of up to 5,000 instead of 500 drained a backlog of 64-byte
     * messages about twice as fast (median of 7 pairs) and took the node less CPU per document in 6 of the 7 (README,
     * "Connectors: the Elasticsearch sink"). A maximum: a batch holds what is pending, up to this.
     */
    public static final int DEFAULT_BATCH_SIZE = 5000;

    @ObjectClassDefinition(name = "Brokkr Elasticsearch connector",
            description = "Writes MQTT messages into Elasticsearch with _bulk; one configuration per target "
                    + "(etc/io.brokkr.connector.elasticsearch-NAME.cfg)")
    public @interface Config {
        @AttributeDefinition(description = "Elasticsearch node URLs, comma separated (http or https)")
        String url() default EsSettings.DEFAULT_URL;

        @AttributeDefinition(description = "Index name; %{pattern} is replaced by the message's receive time in UTC "
                + "formatted with a java.time pattern; without %{...} one fixed index")
        String index() default EsSettings.DEFAULT_INDEX;

        @AttributeDefinition(description = "Bulk action: create (a re-write of an id is a version conflict, taken "
                + "as already written) or index (a re-write overwrites the document)")
        String op() default "create";

        @AttributeDefinition(name = "api.key", description = "Encoded API key (sent as 'Authorization: ApiKey ...'); "
                + "empty: none")
        String api_key() default "";

        @AttributeDefinition(description = "User for basic authentication; empty: none")
        String user() default "";

        @AttributeDefinition(type = AttributeType.PASSWORD, description = "Password for basic authentication")
        String password() default "";

        @AttributeDefinition(name = "connect.timeout.ms", description = "Connect timeout in milliseconds")
        int connect_timeout_ms() default EsSettings.DEFAULT_CONNECT_TIMEOUT_MS;

        @AttributeDefinition(name = "socket.timeout.ms", description = "Timeout waiting for response data in "
                + "milliseconds: a server that stops answering fails the write after it")
        int socket_timeout_ms() default EsSettings.DEFAULT_SOCKET_TIMEOUT_MS;

        @AttributeDefinition(description = "Install an index template for the indices of 'index' before the first "
                + "bulk, unless one of that name exists: names as keyword, times as dates, the payload as text "
                + "(binary with format=base64); false: Elasticsearch's dynamic mapping or your own template")
        boolean template() default true;

        @AttributeDefinition(name = "template.name", description = "The index template's name; empty: brokkr- and "
                + "the index name without its date part (brokkr-mqtt for mqtt-%{yyyy.MM.dd})")
        String template_name() default "";

        @AttributeDefinition(name = "parallel.requests", description = "Most _bulk requests a batch is sent as at "
                + "the same time (1 to 8); the messages of one topic always go in the same request, in order")
        int parallel_requests() default EsSettings.DEFAULT_PARALLEL_REQUESTS;

        @AttributeDefinition(description = "Topic filters, comma separated")
        String topics() default "#";

        @AttributeDefinition(name = "batch.size", description = "Most records per bulk request")
        int batch_size() default DEFAULT_BATCH_SIZE;

        @AttributeDefinition(name = "batch.linger.ms", description = "How long a batch that is not full waits")
        long batch_linger_ms() default 5;

        @AttributeDefinition(name = "max.backlog.bytes", description = "Journal backlog above which QoS 0 messages "
                + "for this sink are skipped")
        long max_backlog_bytes() default 256L * 1024 * 1024;

        @AttributeDefinition(description = "Payload as text, json (parsed, so that its fields are indexed) or base64")
        String format() default "text";

        @AttributeDefinition(description = "Fields written, comma separated, of id, sender, user, topic, payload, "
                + "qos, retain, properties, time, datetime; empty: all")
        String fields() default "";
    }

    /** The settings and the client made from them; replaced as a whole. */
    private record State(EsSettings settings, String error, EsWriter writer) {
    }

    private final Object lock = new Object();
    private String name = "elasticsearch";
    private volatile State state;
    private volatile boolean closed;

    /** Public (like {@code modified} and {@code deactivate}) for the benchmarks' BrokerMain, which binds it without DS. */
    @Activate
    public void activate(Map<String, Object> config) {
        name = name(config);
        synchronized (lock) {
            state = configure(config, null);
        }
    }

    @Modified
    public void modified(Map<String, Object> config) {
        synchronized (lock) {
            State old = state;
            state = configure(config, old);
            if (old != null && old.writer() != null && old.writer() != state.writer()) {
                old.writer().close();
            }
        }
    }

    @Deactivate
    public void deactivate() {
        closed = true;
        State s = state;
        if (s != null && s.writer() != null) {
            s.writer().close(); // a write in progress fails at once
        }
        synchronized (lock) {
            s = state;
            if (s != null && s.writer() != null) {
                s.writer().close();
            }
            state = null;
        }
    }

    /** Parses the configuration; keeps the old client when only index, op or format changed. */
    private State configure(Map<String, Object> config, State old) {
        EsSettings settings;
        try {
            settings = EsSettings.from(config);
        } catch (IllegalArgumentException e) {
            LOG.error("connector {}: {}", name, e.getMessage());
            return new State(null, e.getMessage(), null);
        }
        EsWriter writer = old != null && old.settings() != null && old.settings().sameConnection(settings)
                ? old.writer() : null;
        return new State(settings, null, writer);
    }

    /** NAME of {@code etc/io.brokkr.connector.elasticsearch-NAME.cfg} (else the pid), for log lines and errors. */
    private static String name(Map<String, Object> config) {
        Object file = config.get("felix.fileinstall.filename");
        if (file != null) {
            String f = file.toString();
            f = f.substring(f.lastIndexOf('/') + 1);
            String prefix = "io.brokkr.connector.elasticsearch-";
            if (f.startsWith(prefix) && f.endsWith(".cfg")) {
                return f.substring(prefix.length(), f.length() - 4);
            }
        }
        Object pid = config.get("service.pid");
        if (pid == null) {
            pid = config.get("component.name");
        }
        String n = pid == null ? "elasticsearch" : pid.toString();
        int tilde = n.lastIndexOf('~');
        return tilde >= 0 ? n.substring(tilde + 1) : n;
    }

    @Override
    public CompletionStage<Void> write(List<SinkRecord> batch) {
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        synchronized (lock) {
            State s = state;
            if (closed || s == null) {
                return CompletableFuture.failedFuture(new IllegalStateException("connector " + name + " is closed"));
            }
            if (s.error() != null) {
                return CompletableFuture.failedFuture(new IllegalStateException(
                        "connector " + name + ": " + s.error()));
            }
            try {
                EsWriter writer = s.writer();
                if (writer == null) {
                    writer = new EsWriter(name, s.settings());
                    state = s = new State(s.settings(), null, writer);
                }
                writer.write(batch, s.settings());
                return CompletableFuture.completedFuture(null);
            } catch (Exception e) {
                if (closed) {
                    return CompletableFuture.failedFuture(new IllegalStateException(
                            "connector " + name + " was closed during the write", e));
                }
                return CompletableFuture.failedFuture(e);
            }
        }
    }
}
