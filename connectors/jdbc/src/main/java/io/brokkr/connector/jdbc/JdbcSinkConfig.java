package io.brokkr.connector.jdbc;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The keys of an {@code etc/io.brokkr.connector.jdbc-NAME.cfg} file (a factory configuration: one sink per file).
 * Only documents them (metatype); {@link Settings#from} reads the configuration.
 */
@ObjectClassDefinition(name = "Brokkr JDBC connector (PostgreSQL)",
        description = "Writes the messages that match 'topics' into a PostgreSQL table, one row per message, keyed by "
                + "the record id so that a re-written record is stored once.")
@interface JdbcSinkConfig {

    @AttributeDefinition(description = "JDBC URL of the PostgreSQL database, jdbc:postgresql://host:port/database "
            + "(driver parameters after '?' win over the keys below). Required.")
    String url();

    @AttributeDefinition(description = "Database user", required = false)
    String user();

    @AttributeDefinition(description = "Its password", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD,
            required = false)
    String password();

    @AttributeDefinition(description = "Table the rows go to, created when missing: an identifier, optionally "
            + "schema-qualified (schema.table), letters, digits and _")
    String table() default Settings.DEFAULT_TABLE;

    @AttributeDefinition(description = "Seconds to wait for a TCP connection and for the login")
    int connect_timeout_seconds() default Settings.DEFAULT_CONNECT_TIMEOUT;

    @AttributeDefinition(description = "Seconds to wait for any answer of the server (a write to a server that "
            + "stopped answering fails after this long)")
    int socket_timeout_seconds() default Settings.DEFAULT_SOCKET_TIMEOUT;

    @AttributeDefinition(description = "How the payload is written: text (text column), json (jsonb column) or base64 "
            + "(text column)", options = {
                @org.osgi.service.metatype.annotations.Option(label = "text", value = "text"),
                @org.osgi.service.metatype.annotations.Option(label = "json", value = "json"),
                @org.osgi.service.metatype.annotations.Option(label = "base64", value = "base64")})
    String format() default "text";

    @AttributeDefinition(description = "Columns written (the others stay NULL), comma separated: id, sender, user, "
            + "topic, payload, qos, retain, properties, time, datetime. id and sequence are always written",
            required = false)
    String fields() default "id,sender,user,topic,payload,qos,retain,properties,time,datetime";

    @AttributeDefinition(description = "Topic filters of the messages written (read by the broker)")
    String[] topics() default "#";

    @AttributeDefinition(description = "Most records in one write, one transaction (read by the broker)")
    int batch_size() default 500;

    @AttributeDefinition(description = "Milliseconds a batch that is not full waits for more (read by the broker)")
    long batch_linger_ms() default 5;

    @AttributeDefinition(description = "Backlog in bytes above which QoS 0 messages are skipped for this sink "
            + "(read by the broker)")
    long max_backlog_bytes() default 256L * 1024 * 1024;
}
