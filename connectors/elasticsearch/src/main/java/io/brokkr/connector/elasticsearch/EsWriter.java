package io.brokkr.connector.elasticsearch;

import co.elastic.clients.elasticsearch.ElasticsearchAsyncClient;
import co.elastic.clients.elasticsearch._types.ElasticsearchException;
import co.elastic.clients.elasticsearch._types.ErrorCause;
import co.elastic.clients.elasticsearch.core.BulkRequest;
import co.elastic.clients.elasticsearch.core.BulkResponse;
import co.elastic.clients.elasticsearch.core.bulk.BulkOperation;
import co.elastic.clients.elasticsearch.core.bulk.BulkResponseItem;
import co.elastic.clients.json.SimpleJsonpMapper;
import co.elastic.clients.transport.TransportException;
import co.elastic.clients.transport.instrumentation.NoopInstrumentation;
import co.elastic.clients.transport.rest_client.RestClientOptions;
import co.elastic.clients.transport.rest_client.RestClientTransport;
import co.elastic.clients.util.BinaryData;
import co.elastic.clients.util.ContentType;
import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import org.apache.http.Header;
import org.apache.http.message.BasicHeader;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.RequestOptions;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.ResponseListener;
import org.elasticsearch.client.RestClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP client to Elasticsearch and the bulk write of a batch. Not thread-safe: used by the sink's one writing
 * thread; {@link #close()} may come from another thread and makes a running request fail.
 *
 * <p>The request is sent with the asynchronous client and the writing thread waits for its future, which
 * {@link #close()} fails: closing the REST client alone does not always end a request in flight (one whose connection
 * was just being set up when the I/O reactor stopped is never completed, and the synchronous client waits for it
 * without a time limit, which hung a bundle stop).
 *
 * <p>The client library finds its JSON provider (Eclipse Parsson, embedded in this bundle like the client) with a
 * {@link java.util.ServiceLoader} through the thread context class loader; in OSGi that is not this bundle's class
 * loader, so every use of the client runs with it set ({@link #withBundleLoader}; the client's I/O threads, which
 * decode the answers, are started inside it and inherit it). A precaution: jakarta.json-api also finds Parsson by
 * class name through its own loader, the same bundle's.
 */
final class EsWriter implements AutoCloseable {

    private final String name;
    private final RestClient rest;
    private final ElasticsearchAsyncClient client;
    private static final Logger LOG = LoggerFactory.getLogger(EsWriter.class);
    /** Fewest records per {@code _bulk} request on average when a batch is split ({@link #split}). */
    static final int MIN_PER_REQUEST = 100;
    /**
     * The index template's priority is this plus the length of the index pattern's literal text (at most 99 more):
     * above Elasticsearch's built-in templates (100); of two connectors' overlapping patterns ({@code mqtt-*} and
     * {@code mqtt-archive}) the more specific one wins, where one priority for both would have Elasticsearch refuse
     * the second template.
     */
    static final int TEMPLATE_PRIORITY = 150;

    /** The request (or requests) in flight, failed by {@link #close()}. */
    private volatile CompletableFuture<?> inFlight;
    /** {@link EsSettings#templateKey()} of the template installed (or found), or null. Writing thread only. */
    private String templateInstalled;
    private volatile boolean closed;

    EsWriter(String name, EsSettings s) {
        this.name = name;
        this.rest = withBundleLoader(() -> {
            List<Header> headers = new ArrayList<>();
            if (s.apiKey() != null) {
                headers.add(new BasicHeader("Authorization", "ApiKey " + s.apiKey()));
            } else if (s.user() != null) {
                // preemptive basic authentication: sent with every request, no 401 round trip first
                String token = Base64.getEncoder().encodeToString(
                        (s.user() + ":" + s.password()).getBytes(StandardCharsets.UTF_8));
                headers.add(new BasicHeader("Authorization", "Basic " + token));
            }
            return RestClient.builder(s.hosts().toArray(new org.apache.http.HttpHost[0]))
                    .setDefaultHeaders(headers.toArray(new Header[0]))
                    .setRequestConfigCallback(rc -> rc.setConnectTimeout(s.connectTimeoutMs())
                            .setSocketTimeout(s.socketTimeoutMs())
                            .setConnectionRequestTimeout(s.connectTimeoutMs()))
                    .build();
        });
        this.client = withBundleLoader(() -> new ElasticsearchAsyncClient(new RestClientTransport(rest,
                new SimpleJsonpMapper(), new RestClientOptions(RequestOptions.DEFAULT, false),
                NoopInstrumentation.INSTANCE)));
    }

    /**
     * Writes the batch with one {@code _bulk} request, each record as a document with the record id as {@code _id},
     * in the index its receive time selects.
     *
     * @throws IOException with a message for the log and the broker's {@code last error}
     */
    void write(List<SinkRecord> batch, EsSettings s) throws IOException {
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(EsWriter.class.getClassLoader());
        try {
            bulk(batch, s);
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    private void bulk(List<SinkRecord> batch, EsSettings s) throws IOException {
        if (s.template() != null && !s.templateKey().equals(templateInstalled)) {
            installTemplate(s);
        }
        List<List<BulkOperation>> parts = split(batch, s);
        List<CompletableFuture<BulkResponse>> sent = new ArrayList<>(parts.size());
        try {
            for (List<BulkOperation> ops : parts) {
                sent.add(client.bulk(BulkRequest.of(b -> b.operations(ops))));
            }
            await(CompletableFuture.allOf(sent.toArray(new CompletableFuture[0])));
        } catch (ElasticsearchException e) {
            throw new IOException(prefix(s) + "rejected the bulk request: HTTP " + e.status() + " "
                    + describe(e.error()), e);
        } catch (TransportException e) {
            throw new IOException(prefix(s) + transportMessage(e), e);
        } catch (IOException e) {
            throw new IOException(prefix(s) + ioMessage(e, s), e);
        }
        for (CompletableFuture<BulkResponse> f : sent) {
            BulkResponse response = f.join(); // completed: allOf succeeded
            if (response.errors()) {
                check(response, s);
            }
        }
    }

    /**
     * The batch as at most {@link EsSettings#parallelRequests()} lists of bulk operations, each record in the list its
     * topic selects (so that the documents of one topic are indexed in publish order: Elasticsearch runs the items of
     * one bulk request for one shard one after the other), none with fewer than {@value #MIN_PER_REQUEST} records on
     * average.
     */
    static List<List<BulkOperation>> split(List<SinkRecord> batch, EsSettings s) {
        int n = Math.max(1, Math.min(s.parallelRequests(), batch.size() / MIN_PER_REQUEST));
        List<List<BulkOperation>> parts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            parts.add(new ArrayList<>(batch.size() / n + 16));
        }
        RecordFormat format = s.format();
        String lastTopic = null;
        int lastPart = 0;
        for (SinkRecord r : batch) {
            String topic = r.message().topic();
            if (n > 1 && !topic.equals(lastTopic)) {
                lastTopic = topic;
                lastPart = Math.floorMod(topic.hashCode(), n);
            }
            String index = s.index().format(r.message().timestamp());
            BinaryData doc = BinaryData.of(format.toJson(r).getBytes(StandardCharsets.UTF_8),
                    ContentType.APPLICATION_JSON);
            parts.get(lastPart).add(s.op() == EsSettings.Op.CREATE
                    ? BulkOperation.of(b -> b.create(c -> c.index(index).id(r.id()).document(doc)))
                    : BulkOperation.of(b -> b.index(c -> c.index(index).id(r.id()).document(doc))));
        }
        parts.removeIf(List::isEmpty);
        return parts;
    }

    /**
     * Puts the connector's index template unless one of that name exists ({@code create=true}: a template the user
     * made or edited stays as it is). Fails (the batch is retried) when the server cannot be reached or answers 5xx;
     * any other refusal (no privilege for templates, another template with the same priority and an overlapping
     * pattern) is logged once and the connector writes without it.
     */
    private void installTemplate(EsSettings s) throws IOException {
        Request put = new Request("PUT", "/_index_template/" + s.template());
        put.addParameter("create", "true");
        put.setJsonEntity(templateJson(s, name));
        CompletableFuture<Response> f = new CompletableFuture<>();
        rest.performRequestAsync(put, new ResponseListener() {
            @Override
            public void onSuccess(Response response) {
                f.complete(response);
            }

            @Override
            public void onFailure(Exception e) {
                f.completeExceptionally(e);
            }
        });
        try {
            await(f);
            LOG.info("connector {}: installed index template {} for {}", name, s.template(), s.index().wildcard());
        } catch (ResponseException e) {
            int status = e.getResponse().getStatusLine().getStatusCode();
            if (status >= 500) {
                throw new IOException(prefix(s) + "failed to install index template " + s.template() + ": HTTP "
                        + status + " " + e.getMessage(), e);
            }
            if (String.valueOf(e.getMessage()).contains("already exists")) {
                LOG.info("connector {}: index template {} exists, left as it is", name, s.template());
            } else {
                LOG.warn("connector {}: could not install index template {} (writing without it; set template = "
                        + "false to stop trying): HTTP {} {}", name, s.template(), status, e.getMessage());
            }
        } catch (IOException e) {
            throw new IOException(prefix(s) + "index template " + s.template() + ": " + ioMessage(e, s), e);
        }
        templateInstalled = s.templateKey();
    }

    /** {@value #TEMPLATE_PRIORITY} plus the length of the pattern's literal text, at most 99 more. */
    static int templatePriority(IndexPattern index) {
        return TEMPLATE_PRIORITY + Math.min(99, index.literal().length());
    }

    /**
     * The index template for the connector's documents: {@code index_patterns} from the index pattern, priority
     * {@link #templatePriority}, and mappings for the fields {@link RecordFormat} writes: the names (sender, user,
     * topic, content type, ...) as {@code keyword}, {@code id} kept in the source only (it is the {@code _id}, which
     * is searchable; indexing it twice cost the node more CPU per document in three rounds of four), the payload as
     * {@code text} ({@code format = text}), {@code binary} ({@code base64}) or mapped by Elasticsearch from its
     * fields ({@code json}), {@code time} and {@code datetime} as dates (a time field for Kibana; {@code time} also
     * takes ISO dates in queries), qos as {@code byte}, retain as {@code boolean}.
     */
    static String templateJson(EsSettings s, String sinkName) {
        String payload = switch (s.format().payload()) {
            case TEXT -> "\"payload\":{\"type\":\"text\"},";
            case BASE64 -> "\"payload\":{\"type\":\"binary\"},";
            case JSON -> "";
        };
        return "{\"index_patterns\":[" + RecordFormat.toJson(s.index().wildcard()) + "],"
                + "\"priority\":" + templatePriority(s.index()) + ","
                + "\"_meta\":{\"description\":" + RecordFormat.toJson("MQTT messages written by the Brokkr "
                + "Elasticsearch connector " + sinkName) + ",\"managed_by\":\"brokkr\"},"
                + "\"template\":{\"mappings\":{\"properties\":{"
                + "\"id\":{\"type\":\"keyword\",\"index\":false,\"doc_values\":false},"
                + "\"sender\":{\"type\":\"keyword\"},"
                + "\"user\":{\"type\":\"keyword\"},"
                + "\"topic\":{\"type\":\"keyword\"},"
                + payload
                + "\"payloadEncoding\":{\"type\":\"keyword\"},"
                + "\"qos\":{\"type\":\"byte\"},"
                + "\"retain\":{\"type\":\"boolean\"},"
                + "\"properties\":{\"properties\":{"
                + "\"payloadFormatIndicator\":{\"type\":\"byte\"},"
                + "\"messageExpiryInterval\":{\"type\":\"long\"},"
                + "\"contentType\":{\"type\":\"keyword\"},"
                + "\"responseTopic\":{\"type\":\"keyword\"},"
                + "\"correlationData\":{\"type\":\"binary\"},"
                + "\"userProperties\":{\"properties\":{\"name\":{\"type\":\"keyword\"},"
                + "\"value\":{\"type\":\"keyword\"}}}}},"
                + "\"time\":{\"type\":\"date\",\"format\":\"epoch_millis||strict_date_optional_time\"},"
                + "\"datetime\":{\"type\":\"date\"}}}}}";
    }

    /** Fails with the first item error, unless every error is a version conflict of a {@code create}. */
    private void check(BulkResponse response, EsSettings s) throws IOException {
        int failed = 0;
        BulkResponseItem first = null;
        for (BulkResponseItem item : response.items()) {
            ErrorCause error = item.error();
            if (error == null) {
                continue;
            }
            if (s.op() == EsSettings.Op.CREATE && "version_conflict_engine_exception".equals(error.type())) {
                continue; // the _id exists: written before (a retry or a restart), one copy stays
            }
            failed++;
            if (first == null) {
                first = item;
            }
        }
        if (first != null) {
            throw new IOException(prefix(s) + failed + " of " + response.items().size()
                    + " documents rejected; first: _id " + first.id() + " in index " + first.index() + ": HTTP "
                    + first.status() + " " + describe(first.error()));
        }
    }

    /** Waits for the request; its failure is thrown as it is (not wrapped); fails at once when closed. */
    private <T> T await(CompletableFuture<T> f) throws IOException {
        inFlight = f;
        try {
            if (closed) { // close() came before inFlight was set
                f.completeExceptionally(new IOException("the client was closed"));
            }
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IOException(c);
        } finally {
            inFlight = null;
        }
    }

    private String prefix(EsSettings s) {
        return "connector " + name + ": Elasticsearch " + s.urls() + " ";
    }

    private static String describe(ErrorCause e) {
        if (e == null) {
            return "(no error details)";
        }
        String out = e.type() + ": " + e.reason();
        if (e.causedBy() != null && e.causedBy().reason() != null) {
            out += " (caused by " + e.causedBy().type() + ": " + e.causedBy().reason() + ")";
        }
        return out;
    }

    private static String transportMessage(TransportException e) {
        if (e.getCause() instanceof ResponseException re) {
            return "answered HTTP " + re.getResponse().getStatusLine().getStatusCode() + " "
                    + re.getResponse().getStatusLine().getReasonPhrase() + ": " + e.getMessage();
        }
        return "failed: " + e.getMessage();
    }

    private static String ioMessage(IOException e, EsSettings s) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof ConnectException || e instanceof ConnectException) {
            return "is not reachable: " + (root.getMessage() != null ? root.getMessage() : root.toString());
        }
        if (root instanceof SocketTimeoutException || e instanceof SocketTimeoutException) {
            return "did not answer within socket.timeout.ms=" + s.socketTimeoutMs() + ": " + root;
        }
        if (e instanceof ResponseException re) {
            return "answered HTTP " + re.getResponse().getStatusLine().getStatusCode() + ": " + e.getMessage();
        }
        return "failed: " + e;
    }

    static <T> T withBundleLoader(Supplier<T> action) {
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(EsWriter.class.getClassLoader());
        try {
            return action.get();
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            rest.close();
        } catch (IOException | RuntimeException e) {
            // closing: nothing to do about it
        }
        CompletableFuture<?> f = inFlight;
        if (f != null) {
            f.completeExceptionally(new IOException("the client was closed"));
        }
    }
}
