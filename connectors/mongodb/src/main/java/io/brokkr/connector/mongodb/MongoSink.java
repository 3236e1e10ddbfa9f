package io.brokkr.connector.mongodb;

import com.mongodb.MongoBulkWriteException;
import com.mongodb.MongoException;
import com.mongodb.MongoSecurityException;
import com.mongodb.MongoSocketException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.bulk.BulkWriteError;
import com.mongodb.bulk.WriteConcernError;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.InsertManyOptions;
import com.mongodb.connection.ServerDescription;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.Document;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link MessageSink} that inserts each record as one document into a MongoDB collection, once per factory
 * configuration {@code etc/io.brokkr.connector.mongodb-NAME.cfg} (keys: {@link MongoSinkConfig}).
 *
 * <p>Idempotency: the document's {@code _id} is the record id, and a batch is written with one unordered
 * {@code insertMany}. A re-written record then fails with a duplicate key error (11000) on {@code _id} while the others
 * of the batch are still inserted; when every failed document is a duplicate key and every one of those ids is found
 * in the collection, the records were there already and the batch counts as written. Any other error (a write concern
 * error, a rejected document, a duplicate on another unique index) fails the stage.
 *
 * <p>One {@link MongoClient} per activated component, built at activation (it connects in the background: a server
 * that is down is no error until a write needs it) and closed on deactivation. A changed configuration is applied by
 * {@link #modified}: a new database, collection, format or field list uses the same client; a new connection string,
 * credential or timeout replaces the client (the old one is closed). A bad configuration is logged once as
 * {@code connector NAME: reason} and fails every write with that reason until the configuration is fixed.
 */
@Component(name = "io.brokkr.connector.mongodb", configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = MessageSink.class)
@Designate(ocd = MongoSinkConfig.class, factory = true)
public class MongoSink implements MessageSink {

    private static final Logger LOG = LoggerFactory.getLogger(MongoSink.class);
    private static final InsertManyOptions UNORDERED = new InsertManyOptions().ordered(false);
    /** MongoDB's duplicate key error. */
    static final int DUPLICATE_KEY = 11000;

    /**
     * What a write uses: the settings, the client and the collection, or the reason there are none. Replaced as a
     * whole on reconfiguration, so a write sees one consistent state.
     */
    private record State(MongoSettings settings, MongoClient client, MongoCollection<Document> collection,
                         String error) {

        static State failed(String error) {
            return new State(null, null, null, error);
        }
    }

    private volatile State state = State.failed("not activated");
    private volatile String name = "io.brokkr.connector.mongodb";

    @Activate
    void activate(Map<String, Object> props) {
        name = name(props);
        state = open(props, null);
    }

    @Modified
    void modified(Map<String, Object> props) {
        State old = state;
        State next = open(props, old);
        state = next;
        if (old.client() != null && old.client() != next.client()) {
            old.client().close();
        }
    }

    @Deactivate
    void deactivate() {
        State old = state;
        state = State.failed("connector " + name + " is stopped");
        if (old.client() != null) {
            old.client().close();
        }
    }

    private State open(Map<String, Object> props, State old) {
        MongoSettings settings;
        try {
            settings = MongoSettings.parse(props);
        } catch (IllegalArgumentException e) {
            LOG.error("connector {}: {}", name, e.getMessage());
            return State.failed(e.getMessage());
        }
        MongoClient client;
        if (old != null && old.client() != null && settings.sameConnection(old.settings())) {
            client = old.client();
        } else {
            try {
                client = MongoClients.create(settings.clientSettings("brokkr"));
            } catch (RuntimeException e) {
                String reason = "cannot create the MongoDB client: " + e.getMessage();
                LOG.error("connector {}: {}", name, reason);
                return State.failed(reason);
            }
        }
        LOG.info("connector {}: writing to {}.{} at {}", name, settings.database(), settings.collection(),
                String.join(",", settings.hosts()));
        return new State(settings, client,
                client.getDatabase(settings.database()).getCollection(settings.collection()), null);
    }

    /** The client writes use now, or null when the configuration is bad or the component is stopped. */
    MongoClient client() {
        return state.client();
    }

    /** The sink's name for messages: the configuration's PID, as the broker names the sink. */
    private static String name(Map<String, Object> props) {
        Object pid = props.get("service.pid");
        return String.valueOf(pid != null ? pid : props.getOrDefault("component.name", "io.brokkr.connector.mongodb"));
    }

    /**
     * Inserts the batch with one unordered {@code insertMany} and completes when the server has acknowledged it (the
     * write concern of the uri, by default {@code w:1}). Blocks the calling thread at most about
     * {@code server.selection.timeout.ms} + {@code socket.timeout.ms}.
     */
    @Override
    public CompletionStage<Void> write(List<SinkRecord> batch) {
        State s = state;
        if (s.error() != null) {
            return CompletableFuture.failedFuture(new IllegalStateException(s.error()));
        }
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        List<Document> docs = Documents.of(batch, s.settings().format());
        try {
            s.collection().insertMany(docs, UNORDERED);
            return CompletableFuture.completedFuture(null);
        } catch (MongoBulkWriteException e) {
            String reason;
            try {
                reason = alreadyPresent(s, docs, e);
            } catch (RuntimeException checkFailed) {
                return failed(s, checkFailed, null);
            }
            return reason == null ? CompletableFuture.completedFuture(null) : failed(s, e, reason);
        } catch (RuntimeException e) {
            return failed(s, e, null);
        }
    }

    /**
     * Checks a bulk write error: null if every failed document was a duplicate key and is found by its {@code _id}
     * (those records were written before), else the reason the batch failed.
     */
    private String alreadyPresent(State s, List<Document> docs, MongoBulkWriteException e) {
        WriteConcernError wce = e.getWriteConcernError();
        if (wce != null) {
            return "write concern error " + wce.getCode() + " (" + wce.getCodeName() + "): " + wce.getMessage();
        }
        List<BulkWriteError> errors = e.getWriteErrors();
        for (BulkWriteError err : errors) {
            if (err.getCode() != DUPLICATE_KEY) {
                return errors.size() + " of " + docs.size() + " documents rejected; document " + err.getIndex()
                        + " (_id " + docs.get(err.getIndex()).get("_id") + "): error " + err.getCode() + ": "
                        + err.getMessage();
            }
        }
        Set<Object> ids = new LinkedHashSet<>();
        for (BulkWriteError err : errors) {
            ids.add(docs.get(err.getIndex()).get("_id"));
        }
        long found = s.collection().countDocuments(Filters.in("_id", new ArrayList<>(ids)));
        if (found == ids.size()) {
            LOG.debug("connector {}: {} of {} records were written before", name, ids.size(), docs.size());
            return null;
        }
        return "duplicate key on a unique index other than _id (" + (ids.size() - found) + " of " + docs.size()
                + " documents): " + errors.get(0).getMessage();
    }

    private CompletionStage<Void> failed(State s, RuntimeException e, String bulkReason) {
        String where = "insert into " + s.settings().database() + "." + s.settings().collection() + " at "
                + String.join(",", s.settings().hosts()) + " failed: ";
        String reason;
        if (bulkReason != null) {
            reason = bulkReason;
        } else if (state != s) {
            reason = "the connector was reconfigured or stopped during the write (" + e.getMessage() + ")";
        } else if (e instanceof MongoTimeoutException) {
            reason = "no usable server within " + s.settings().serverSelectionTimeoutMs()
                    + " ms (server.selection.timeout.ms)" + serverErrors(s);
        } else if (e instanceof MongoSecurityException) {
            reason = "authentication failed"
                    + (s.settings().credential() != null ? " for user '" + s.settings().credential().getUserName()
                    + "' (auth.source " + s.settings().credential().getSource() + ")" : "")
                    + ": " + rootMessage(e);
        } else if (e instanceof MongoSocketException) {
            reason = "connection to the server lost: " + e.getMessage() + causeMessage(e);
        } else if (e instanceof MongoException) {
            reason = e.getMessage();
        } else {
            reason = e.toString();
        }
        return CompletableFuture.failedFuture(new IOException(where + reason, e));
    }

    /** What the client knows about why its servers are unusable: {@code : 127.0.0.1:27017 Connection refused}. */
    private static String serverErrors(State s) {
        StringBuilder sb = new StringBuilder();
        try {
            for (ServerDescription d : s.client().getClusterDescription().getServerDescriptions()) {
                if (d.getException() != null) {
                    sb.append(sb.length() == 0 ? ": " : "; ").append(d.getAddress()).append(' ')
                            .append(rootMessage(d.getException()));
                }
            }
        } catch (RuntimeException closed) {
            // a closed client has no description; the timeout says enough
        }
        return sb.toString();
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.toString();
    }

    private static String causeMessage(Throwable t) {
        return t.getCause() != null ? " (" + rootMessage(t) + ")" : "";
    }
}
