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
import org.elasticsearch.client.RequestOptions;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;

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
    /** The request in flight, failed by {@link #close()}. */
    private volatile CompletableFuture<BulkResponse> inFlight;
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
            response = await(client.bulk(request));
        } catch (ElasticsearchException e) {
            throw new IOException(prefix(s) + "rejected the bulk request: HTTP " + e.status() + " "
                    + describe(e.error()), e);
        } catch (TransportException e) {
            throw new IOException(prefix(s) + transportMessage(e), e);
        } catch (IOException e) {
            throw new IOException(prefix(s) + ioMessage(e, s), e);
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

    /** Waits for the request; its failure is thrown as it is (not wrapped); fails at once when closed. */
    private BulkResponse await(CompletableFuture<BulkResponse> f) throws IOException {
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
        CompletableFuture<BulkResponse> f = inFlight;
        if (f != null) {
            f.completeExceptionally(new IOException("the client was closed"));
        }
    }
}
