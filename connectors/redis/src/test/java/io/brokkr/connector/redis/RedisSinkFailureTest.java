package io.brokkr.connector.redis;

import static io.brokkr.connector.redis.Records.batch;
import static io.brokkr.connector.redis.Records.config;
import static io.brokkr.connector.redis.RedisSinkTest.failure;
import static io.brokkr.connector.redis.RedisSinkTest.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.storage.SinkRecord;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/** Failures against real servers: a server stopped and started again, a server that does not answer, auth, TLS. */
class RedisSinkFailureTest {

    @TempDir
    Path tmp;
    final RedisSink sink = new RedisSink();
    final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void installed() {
        RedisServer.assumeInstalled();
    }

    @AfterEach
    void close() throws Exception {
        sink.deactivate();
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(c);
        return c;
    }

    @Test
    void serverStoppedMidTestFailsWithinTheTimeoutAndTheSameBatchSucceedsAfterItsRestart() throws Exception {
        RedisServer server = closeLater(new RedisServer(tmp.resolve("r"), RedisServer.freePort(false)).start());
        for (String layout : List.of("stream", "list", "key")) {
            try (RedisClient redis = RedisClient.create("127.0.0.1", server.port)) {
                redis.flushAll();
            }
            sink.activate(config("host", "127.0.0.1", "port", server.port, "layout", layout, "timeout.ms", 2000));
            write(sink, batch(1, 50, "a", "b"));

            server.stop();
            List<SinkRecord> overlapping = batch(31, 80, "a", "b");
            long start = System.nanoTime();
            Throwable t = failure(sink, overlapping);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < 10_000, layout + ": failed after " + ms + " ms");
            assertTrue(t.getMessage().startsWith("redis 127.0.0.1:" + server.port + ": "), t.getMessage());
            assertTrue(t.getMessage().contains("Connection refused"), t.getMessage());
            // still down: fails again, no hang
            failure(sink, overlapping);

            server.start();
            write(sink, overlapping);
            try (RedisClient redis = RedisClient.create("127.0.0.1", server.port)) {
                assertEquals(80, count(redis, layout), layout + ": one copy of each of 1-80");
            }
            sink.deactivate();
        }
    }

    static long count(RedisClient redis, String layout) {
        return switch (layout) {
            case "stream" -> redis.xlen("mqtt:a") + redis.xlen("mqtt:b");
            case "list" -> redis.llen("mqtt:a") + redis.llen("mqtt:b");
            default -> redis.keys("mqtt:client-1_*").size();
        };
    }

    /** A server that accepts connections but never answers: the write fails after the read timeout, not never. */
    @Test
    void silentServerFailsAfterTheReadTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = silent.accept();
                        accepted.add(s);
                        InputStream in = s.getInputStream();
                        new Thread(() -> {
                            try {
                                in.transferTo(OutputDiscard.INSTANCE);
                            } catch (IOException ignored) {
                                // closed
                            }
                        }).start();
                    }
                } catch (IOException closed) {
                    // test over
                }
            });
            acceptor.start();
            sink.activate(config("host", "127.0.0.1", "port", silent.getLocalPort(), "timeout.ms", 1000));
            long start = System.nanoTime();
            Throwable t = failure(sink, batch(1, 10, "t"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms >= 900 && ms < 8000, "failed after " + ms + " ms: " + t.getMessage());
            assertTrue(t.getMessage().contains("Read timed out"), t.getMessage());
            silent.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    static final class OutputDiscard extends java.io.OutputStream {
        static final OutputDiscard INSTANCE = new OutputDiscard();

        @Override
        public void write(int b) {
        }

        @Override
        public void write(byte[] b, int off, int len) {
        }
    }

    @Test
    void passwordAndAclUser() throws Exception {
        RedisServer server = closeLater(new RedisServer(tmp.resolve("auth"), RedisServer.freePort(false),
                "--requirepass", "s3cret", "--user", "writer", "on", ">w-pass", "~mqtt:*", "+@all").start());
        sink.activate(config("host", "127.0.0.1", "port", server.port, "password", "wrong"));
        Throwable t = failure(sink, batch(1, 3, "t"));
        assertTrue(t.getMessage().contains("WRONGPASS invalid username-password pair"), t.getMessage());

        sink.modified(config("host", "127.0.0.1", "port", server.port));
        t = failure(sink, batch(1, 3, "t"));
        assertTrue(t.getMessage().contains(": NOAUTH "), t.getMessage());

        sink.modified(config("host", "127.0.0.1", "port", server.port, "password", "s3cret"));
        write(sink, batch(1, 3, "t"));

        sink.modified(config("host", "127.0.0.1", "port", server.port, "user", "writer", "password", "w-pass"));
        write(sink, batch(4, 6, "t"));
        // the ACL user may write mqtt:* only
        sink.modified(config("host", "127.0.0.1", "port", server.port, "user", "writer", "password", "w-pass",
                "key.prefix", "other:"));
        t = failure(sink, batch(7, 7, "t"));
        assertTrue(t.getMessage().contains("XADD other:t: NOPERM"), t.getMessage());

        try (RedisClient redis = RedisClient.builder().hostAndPort("127.0.0.1", server.port)
                .clientConfig(DefaultJedisClientConfig.builder().password("s3cret").build()).build()) {
            assertEquals(List.of(new StreamEntryID(1, 0), new StreamEntryID(2, 0), new StreamEntryID(3, 0),
                    new StreamEntryID(4, 0), new StreamEntryID(5, 0), new StreamEntryID(6, 0)),
                    redis.xrange("mqtt:t", "-", "+").stream().map(StreamEntry::getID).toList());
        }
    }

    /** TLS with redis-server's tls-port and a self-signed certificate made by openssl for 127.0.0.1. */
    @Test
    void tlsWithAPemTrustStoreAndNotWithoutIt() throws Exception {
        Assumptions.assumeTrue(RedisServer.onPath("openssl"), "openssl is not installed: TLS test skipped");
        Path dir = Files.createDirectories(tmp.resolve("tls"));
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, Files.readString(dir.resolve("openssl.log")));
        int port = RedisServer.freePort(false);
        closeLater(new RedisServer(dir.resolve("server"), RedisServer.freePort(false), "--tls-port",
                Integer.toString(port), "--tls-cert-file", dir.resolve("cert.pem").toString(), "--tls-key-file",
                dir.resolve("key.pem").toString(), "--tls-ca-cert-file", dir.resolve("cert.pem").toString(),
                "--tls-auth-clients", "no").start());

        // the JDK's trust store does not know the self-signed certificate
        sink.activate(config("host", "127.0.0.1", "port", port, "ssl", "true"));
        Throwable t = failure(sink, batch(1, 2, "t"));
        assertTrue(t.getMessage().contains("PKIX path building failed"), t.getMessage());

        sink.modified(config("host", "127.0.0.1", "port", port, "ssl", "true",
                "truststore", dir.resolve("cert.pem").toString()));
        write(sink, batch(1, 2, "t"));
        write(sink, batch(1, 3, "t"));

        // a bad trust store path
        sink.modified(config("host", "127.0.0.1", "port", port, "ssl", "true", "truststore", "/nonexistent.pem"));
        t = failure(sink, batch(4, 4, "t"));
        assertTrue(t.getMessage().contains("/nonexistent.pem"), t.getMessage());
    }
}
