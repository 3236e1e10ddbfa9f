package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedClass;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * What a new TLS connection costs the broker beyond the handshake itself (see the README's TLS benchmark): no
 * exception thrown per connection for a client certificate that a {@code client.auth = none} listener never asked
 * for, and with {@code tls.provider = openssl} no handshake stopped for a delegated task (OpenSSL's call back into
 * Java for the certificate runs inside the handshake). Real handshakes: mosquitto_pub, and the JDK's client engine.
 */
class TlsConnectionCostTest extends TlsTestBase {

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "openssl"})
    void aConnectionWithoutClientCertificateThrowsNoPeerUnverifiedException(String provider) throws Exception {
        int p = tlsListener("cost-" + provider, pemOptions("tls.provider", provider));
        Path jfr = Files.createTempFile("brokkr-tls-cost", ".jfr");
        List<String> thrown = new ArrayList<>();
        try (Recording r = new Recording()) {
            r.enable("jdk.JavaExceptionThrow").withStackTrace();
            r.start();
            for (int i = 0; i < 3; i++) {
                Result pub = run(mosquitto("mosquitto_pub", p, null, "-i", id("cost" + provider + i), "-t",
                        "cost/" + provider, "-m", "x"));
                assertEquals(0, pub.exit(), pub.output());
            }
            r.stop();
            r.dump(jfr);
            for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
                RecordedClass c = e.getValue("thrownClass");
                if (c != null) {
                    thrown.add(c.getName());
                }
            }
        } finally {
            Files.deleteIfExists(jfr);
        }
        assertTrue(thrown.stream().noneMatch(SSLPeerUnverifiedException.class.getName()::equals),
                "exceptions thrown: " + thrown);
        // the recording did see the exceptions of the connections (Netty's ClosedChannelException on each close)
        assertFalse(thrown.isEmpty(), "no exception event recorded at all: the recording saw nothing");
    }

    @Test
    void opensslHandshakeNeedsNoDelegatedTask() throws Exception {
        for (String version : List.of("TLSv1.3", "TLSv1.2")) {
            EmbeddedChannel ch = new EmbeddedChannel();
            try {
                SSLEngine server = io.brokkr.broker.transport.TlsSupport.open(tlsConfig("x", 0,
                        pemOptions("tls.provider", "openssl"))).newHandler(ch).engine();
                SSLEngine client = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                        .trustManager(certs.ca.cert().toFile()).protocols(version).build()
                        .newEngine(ch.alloc());
                assertFalse(handshake(client, server), version + ": the server's handshake stopped for a task");
                assertEquals(version, server.getSession().getProtocol());
            } finally {
                ch.finishAndReleaseAll();
            }
        }
    }

    /** Runs a handshake between the two engines in memory; whether the server ever asked for a delegated task. */
    private static boolean handshake(SSLEngine client, SSLEngine server) throws SSLException {
        ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
        ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
        ByteBuffer none = ByteBuffer.allocate(0);
        ByteBuffer app = ByteBuffer.allocate(1 << 17);
        boolean serverTask = false;
        client.beginHandshake();
        server.beginHandshake();
        for (int i = 0; i < 50; i++) {
            client.wrap(none, toServer);
            runTasks(client);
            toServer.flip();
            SSLEngineResult r = server.unwrap(toServer, app);
            toServer.compact();
            serverTask |= r.getHandshakeStatus() == HandshakeStatus.NEED_TASK;
            serverTask |= runTasks(server);
            r = server.wrap(none, toClient);
            serverTask |= r.getHandshakeStatus() == HandshakeStatus.NEED_TASK;
            serverTask |= runTasks(server);
            toClient.flip();
            client.unwrap(toClient, app);
            toClient.compact();
            runTasks(client);
            if (i > 2 && client.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING
                    && server.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING
                    && toServer.position() == 0 && toClient.position() == 0) {
                return serverTask;
            }
        }
        throw new AssertionError("no handshake after 50 rounds: client " + client.getHandshakeStatus()
                + ", server " + server.getHandshakeStatus());
    }

    private static boolean runTasks(SSLEngine e) {
        boolean any = false;
        for (Runnable t = e.getDelegatedTask(); t != null; t = e.getDelegatedTask()) {
            t.run();
            any = true;
        }
        return any;
    }
}
