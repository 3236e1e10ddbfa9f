package io.brokkr.connector.mongodb;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The keys of {@code etc/io.brokkr.connector.mongodb-NAME.cfg}, for the metatype service (the Web console, and the
 * documentation of every key with its default). The component reads its configuration as a map through
 * {@link MongoSettings#parse}, so that a bad value becomes a clear error of the sink instead of a failed activation.
 */
@ObjectClassDefinition(name = "Brokkr MongoDB connector",
        description = "Writes the messages that match 'topics' into a MongoDB collection, one document per message"
                + " with _id = the record id (a re-write of the same record leaves one document).")
@interface MongoSinkConfig {

    @AttributeDefinition(description = "Connection string, e.g. mongodb://localhost:27017 or"
            + " mongodb://u:p@h1:27017,h2:27017/?replicaSet=rs0&w=majority. When set, host and port are ignored."
            + " w=0 (unacknowledged) is refused.", required = false)
    String uri();

    @AttributeDefinition(description = "Server host, used when uri is not set")
    String host() default "localhost";

    @AttributeDefinition(description = "Server port, used when uri is not set")
    int port() default 27017;

    @AttributeDefinition(description = "Database the documents are written to")
    String database() default "brokkr";

    @AttributeDefinition(description = "Collection the documents are written to")
    String collection() default "messages";

    @AttributeDefinition(description = "User name (SCRAM); overrides the user of the uri", required = false)
    String user();

    @AttributeDefinition(description = "Password (SCRAM); overrides the password of the uri. The key .password"
            + " (with a leading dot) is read too and is not published as a service property.",
            type = AttributeType.PASSWORD, required = false)
    String password();

    @AttributeDefinition(name = "auth.source", description = "Database the user is defined in (default: the uri's"
            + " authSource, else admin)", required = false)
    String auth_source();

    @AttributeDefinition(name = "connect.timeout.ms", description = "TCP connect timeout (default: the uri's"
            + " connectTimeoutMS, else 5000)")
    int connect_timeout_ms() default 5000;

    @AttributeDefinition(name = "server.selection.timeout.ms", description = "How long a write waits for a usable"
            + " server before it fails (default: the uri's serverSelectionTimeoutMS, else 5000)")
    int server_selection_timeout_ms() default 5000;

    @AttributeDefinition(name = "socket.timeout.ms", description = "How long a write waits for the server's"
            + " answer (default: the uri's socketTimeoutMS, else 10000)")
    int socket_timeout_ms() default 10000;

    @AttributeDefinition(description = "Payload as written: text, json (a sub-document, array or value) or base64")
    String format() default "text";

    @AttributeDefinition(description = "Fields written, comma separated, of: sender, user, topic, payload, qos,"
            + " retain, properties, time, datetime (_id is always written)",
            required = false)
    String fields() default "sender,user,topic,payload,qos,retain,properties,time,datetime";

    @AttributeDefinition(description = "Topic filters of the messages this sink writes (read by the broker)")
    String[] topics() default "#";

    @AttributeDefinition(name = "batch.size", description = "Most records per insertMany (read by the broker)")
    int batch_size() default 500;

    @AttributeDefinition(name = "batch.linger.ms", description = "How long a batch that is not full waits for"
            + " more records (read by the broker)")
    int batch_linger_ms() default 5;

    @AttributeDefinition(name = "max.backlog.bytes", description = "Journal backlog above which QoS 0 messages"
            + " for this sink are skipped (read by the broker)")
    long max_backlog_bytes() default 268435456L;
}
