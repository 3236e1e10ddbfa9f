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
import java.util.function.Supplier;
import org.apache.http.Header;
import org.apache.http.message.BasicHeader;
import org.elasticsearch.client.RequestOptions;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;

/**
 * One HTTP client to Elasticsearch and the bulk write of a batch. Not thread-safe: used by the sink's one writing
 * thread; {@link #close()} may come from another thread and makes a running request fail.
 *
 * <p>The client library finds its JSON provider (Eclipse Parsson, embedded in this bundle like the client) with a
 * {@link java.util.ServiceLoader} through the thread context class loader; in OSGi that is not this bundle's class
 * loader, so every use of the client runs with it set ({@link #withBundleLoader}).
 */
final class EsWriter implements AutoCloseable {

    private final String name;
    private final RestClient rest;
    private final ElasticsearchAsyncClient client;
    /** The bulk request being written, completed exceptionally by {@link #close()} so that a write ends at once. */
    private volatile java.util.concurrent.CompletableFuture<BulkResponse> inFlight;
    private volatile boolean closing;

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
        List<BulkOperation> ops = new ArrayList<>(batch.size());
        RecordFormat format = s.format();
        for (SinkRecord r : batch) {
            String index = s.index().format(r.message().timestamp());
            BinaryData doc = BinaryData.of(format.toJson(r).getBytes(StandardCharsets.UTF_8),
                    ContentType.APPLICATION_JSON);
            ops.add(s.op() == EsSettings.Op.CREATE
                    ? BulkOperation.of(b -> b.create(c -> c.index(index).id(r.id()).document(doc)))
                    : BulkOperation.of(b -> b.index(c -> c.index(index).id(r.id()).document(doc))));
        }
        BulkRequest request = BulkRequest.of(b -> b.operations(ops));
        BulkResponse response;
        try {
            java.util.concurrent.CompletableFuture<BulkResponse> f = client.bulk(request);
            inFlight = f;
            if (closing) { // close() ran before inFlight was set: it could not end this request
                f.completeExceptionally(new IOException("the connector was closed during the write"));
            }
            try {
                // bounded even if the HTTP client loses the request (a client closed while it was being sent)
                response = f.get(s.connectTimeoutMs() + (long) s.socketTimeoutMs() + 1000L,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            } catch (java.util.concurrent.TimeoutException e) {
                f.cancel(true);
                throw new java.net.SocketTimeoutException("no answer within connect.timeout.ms + socket.timeout.ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } finally {
                inFlight = null;
            }
        } catch (ElasticsearchException e) {
            throw new IOException(prefix(s) + "rejected the bulk request: HTTP " + e.status() + " "
                    + describe(e.error()), e);
        } catch (TransportException e) {
            throw new IOException(prefix(s) + transportMessage(e), e);
        } catch (IOException e) {
            throw new IOException(prefix(s) + ioMessage(e, s), e);
        } catch (Exception e) {
            throw new IOException(prefix(s) + "failed: " + e, e);
        }
        if (response.errors()) {
            check(response, s);
        }
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
        closing = true;
        java.util.concurrent.CompletableFuture<BulkResponse> f = inFlight;
        if (f != null) {
            f.completeExceptionally(new IOException("the connector was closed during the write"));
        }
        try {
            rest.close();
        } catch (IOException | RuntimeException e) {
            // closing: nothing to do about it
        }
    }
}
