package io.brokkr.connector.redis;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * The keys of an {@code etc/io.brokkr.connector.redis-NAME.cfg} factory configuration (metatype). The component reads
 * the raw properties itself ({@link Settings#parse}) so that a bad value becomes a failed write with a clear reason
 * rather than a component that does not start; this interface documents the keys and their defaults.
 */
@ObjectClassDefinition(name = "Brokkr Redis connector",
        description = "Writes the MQTT messages that match 'topics' to Redis (standalone or Redis Cluster) with Jedis:"
                + " a stream per topic, a list per topic or a key per message. One configuration per sink.")
@interface RedisSinkConfig {

    @AttributeDefinition(description = "Topic filters whose messages this sink writes, comma separated (read by the broker).")
    String topics() default "#";

    @AttributeDefinition(name = "batch.size", description = "Most records in one pipelined write (read by the broker).")
    int batch_size() default 500;

    @AttributeDefinition(name = "batch.linger.ms", description = "How long a batch that is not full waits for more records (read by the broker).")
    long batch_linger_ms() default 5;

    @AttributeDefinition(name = "max.backlog.bytes", description = "Journal backlog above which QoS 0 messages for this sink are skipped (read by the broker).")
    long max_backlog_bytes() default 268_435_456L;

    @AttributeDefinition(description = "Redis Cluster seed nodes, host:port comma separated; when set the connector talks"
            + " to a cluster and host/port/database are ignored. Empty: a standalone server at host:port.")
    String nodes() default "";

    @AttributeDefinition(description = "Host of a standalone Redis server.")
    String host() default "localhost";

    @AttributeDefinition(description = "Port of a standalone Redis server.")
    int port() default 6379;

    @AttributeDefinition(description = "Database number of a standalone server (SELECT).")
    int database() default 0;

    @AttributeDefinition(required = false, description = "ACL user name (Redis 6+); empty: the default user.")
    String user() default "";

    @AttributeDefinition(required = false, type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD,
            description = "Password (AUTH); empty: no authentication.")
    String password() default "";

    @AttributeDefinition(description = "Connect with TLS (the host name is verified against the server certificate).")
    boolean ssl() default false;

    @AttributeDefinition(required = false, description = "Trust store for TLS: a PEM file of CA certificates or a"
            + " PKCS12/JKS key store; empty: the JDK's default trust store.")
    String truststore() default "";

    @AttributeDefinition(name = "truststore.password", required = false, type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD,
            description = "Password of a PKCS12/JKS trust store.")
    String truststore_password() default "";

    @AttributeDefinition(name = "timeout.ms", description = "Connect and read timeout in milliseconds: a dead server fails a write after at most about this long.")
    int timeout_ms() default 5000;

    @AttributeDefinition(description = "What is written: stream (XADD to a stream per topic), list (RPUSH of JSON to a"
            + " list per topic) or key (SET of JSON, one key per message).",
            options = {@Option(value = "stream"), @Option(value = "list"), @Option(value = "key")})
    String layout() default "stream";

    @AttributeDefinition(name = "key.prefix", description = "Prefix of every key written: <key.prefix><topic> (stream, list)"
            + " or <key.prefix><clientId>_<unixtime>_<sequence> (key).")
    String key_prefix() default "mqtt:";

    @AttributeDefinition(name = "ttl.seconds", description = "Layout key: expiry of each key in seconds (SET EX); 0: no expiry.")
    long ttl_seconds() default 0;

    @AttributeDefinition(description = "How the payload is written: text, json or base64.",
            options = {@Option(value = "text"), @Option(value = "json"), @Option(value = "base64")})
    String format() default "text";

    @AttributeDefinition(required = false, description = "Fields written, comma separated, from id, sender, user, topic,"
            + " payload, qos, retain, properties, time, datetime; empty: all.")
    String fields() default "";
}
