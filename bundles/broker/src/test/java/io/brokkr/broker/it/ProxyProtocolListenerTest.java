package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.broker.config.ListenerConfig;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code proxy.protocol = true}: the PROXY protocol header (v1 text, v2 binary, IPv4 and IPv6) before the CONNECT
 * gives the client's address, which the authenticators see ({@code ConnectionContext.remoteAddress()}) and
 * {@code mqtt:clients} shows; a connection without a valid header is closed at once; a LOCAL header keeps the
 * socket's address; on a WebSocket listener the header comes before the HTTP upgrade. Then through a real HAProxy
 * ({@code send-proxy} and {@code send-proxy-v2}, Debian's haproxy, which ./test.sh installs).
 */
class ProxyProtocolListenerTest extends BrokerTestBase {

    /** The address each client id's authentication saw. */
    private final Map<String, InetSocketAddress> seen = new ConcurrentHashMap<>();
    int proxyPort;
    int proxyWsPort;

    @BeforeAll
    void listeners() {
        broker.setAuthenticators(List.of((ctx, req) -> {
            seen.put(ctx.clientId(), ctx.remoteAddress());
            return CompletableFuture.completedFuture(AuthenticationResult.next());
        }));
        proxyPort = broker.openListener(new ListenerConfig("proxied", "tcp", "127.0.0.1", 0, null,
                Map.of("proxy.protocol", "true"))).port();
        proxyWsPort = broker.openListener(new ListenerConfig("proxied-ws", "ws", "127.0.0.1", 0, null,
                Map.of("proxy.protocol", "true"))).port();
    }

    static byte[] v1(String family, String src, String dst, int srcPort, int dstPort) {
        return ("PROXY " + family + " " + src + " " + dst + " " + srcPort + " " + dstPort + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    /** A v2 PROXY header over TCP (IPv4 or IPv6 by the addresses' length). */
    static byte[] v2(String src, String dst, int srcPort, int dstPort) throws IOException {
        byte[] s = InetAddress.getByName(src).getAddress();
        byte[] d = InetAddress.getByName(dst).getAddress();
        int length = s.length + d.length + 4;
        ByteBuffer b = ByteBuffer.allocate(16 + length);
        b.put(V2_SIGNATURE).put((byte) 0x21) // version 2, PROXY
                .put((byte) (s.length == 4 ? 0x11 : 0x21)) // TCP over IPv4 / IPv6
                .putShort((short) length).put(s).put(d).putShort((short) srcPort).putShort((short) dstPort);
        return b.array();
    }

    /** A v2 LOCAL header (a proxy's own connection, e.g. a health check): no addresses. */
    static byte[] v2Local() {
        ByteBuffer b = ByteBuffer.allocate(16);
        b.put(V2_SIGNATURE).put((byte) 0x20).put((byte) 0x00).putShort((short) 0);
        return b.array();
    }

    private byte[] connect(String clientId) {
        return WsRawClient.encode(Packets.connect(MqttVersion.MQTT_3_1_1, clientId, true, 30, null));
    }

    /** Sends the header and a CONNECT in one write; expects the CONNACK. */
    private void connectThrough(byte[] header, String clientId) throws Exception {
        RawClient c = track(RawClient.open(proxyPort));
        c.decodeAs(MqttVersion.MQTT_3_1_1);
        c.sendBytes(Packets.concat(header, connect(clientId)));
        assertEquals(0, RawClient.returnCode((io.netty.handler.codec.mqtt.MqttConnAckMessage)
                c.expect(MqttMessageType.CONNACK)));
    }

    private ClientInfo client(String clientId) {
        return broker.clients().stream().filter(c -> c.clientId().equals(clientId)).findFirst().orElseThrow();
    }

    @Test
    void v1Header() throws Exception {
        connectThrough(v1("TCP4", "203.0.113.7", "192.0.2.1", 51234, 1883), id("c"));
        assertEquals(new InetSocketAddress("203.0.113.7", 51234), seen.get(id("c")), "authenticator's address");
        assertEquals("203.0.113.7:51234", client(id("c")).remoteAddress(), "mqtt:clients address");
    }

    @Test
    void v1HeaderIpv6() throws Exception {
        connectThrough(v1("TCP6", "2001:db8::17", "2001:db8::1", 40000, 1883), id("c"));
        assertEquals(new InetSocketAddress("2001:db8::17", 40000), seen.get(id("c")));
    }

    @Test
    void v2Header() throws Exception {
        connectThrough(v2("198.51.100.23", "192.0.2.1", 61000, 1883), id("c"));
        assertEquals(new InetSocketAddress("198.51.100.23", 61000), seen.get(id("c")));
        assertEquals("198.51.100.23:61000", client(id("c")).remoteAddress());
    }

    @Test
    void v2HeaderIpv6() throws Exception {
        connectThrough(v2("2001:db8::42", "2001:db8::1", 443, 1883), id("c"));
        assertEquals(new InetSocketAddress("2001:db8::42", 443), seen.get(id("c")));
    }

    /** The header may arrive in pieces, and the CONNECT in a later read. */
    @Test
    void headerInPieces() throws Exception {
        byte[] h = v2("198.51.100.99", "192.0.2.1", 1234, 1883);
        RawClient c = track(RawClient.open(proxyPort));
        c.decodeAs(MqttVersion.MQTT_3_1_1);
        c.sendBytes(java.util.Arrays.copyOfRange(h, 0, 5));
        Thread.sleep(50); // separate reads
        c.sendBytes(java.util.Arrays.copyOfRange(h, 5, h.length));
        Thread.sleep(50);
        c.sendBytes(connect(id("c")));
        c.expect(MqttMessageType.CONNACK);
        assertEquals(new InetSocketAddress("198.51.100.99", 1234), seen.get(id("c")));
    }

    @Test
    void localHeaderKeepsTheSocketAddress() throws Exception {
        connectThrough(v2Local(), id("c"));
        InetSocketAddress a = seen.get(id("c"));
        assertEquals("127.0.0.1", a.getAddress().getHostAddress());
    }

    /** A client that talks MQTT directly to a PROXY listener is closed at its first bytes, without a CONNACK. */
    @Test
    void missingHeaderCloses() throws Exception {
        RawClient c = track(RawClient.open(proxyPort));
        long start = System.nanoTime();
        c.sendBytes(connect(id("c")));
        assertTrue(c.awaitClosed(), "connection without a header closed");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "closed at once, not at the timeout");
        assertNull(c.poll(0), "no CONNACK");
        assertNull(seen.get(id("c")), "never authenticated");
    }

    @Test
    void invalidHeaderCloses() throws Exception {
        RawClient c = track(RawClient.open(proxyPort));
        c.sendBytes(Packets.concat("PROXY TCP4 not-an-address 192.0.2.1 1 2\r\n".getBytes(StandardCharsets.US_ASCII),
                connect(id("c"))));
        assertTrue(c.awaitClosed(), "connection with a bad header closed");
        assertNull(seen.get(id("c")));
        RawClient c2 = track(RawClient.open(proxyPort)); // v2 signature, then an unknown version nibble
        c2.sendBytes(Packets.concat(V2_SIGNATURE, Packets.bytes(0x31, 0x11, 0, 0)));
        assertTrue(c2.awaitClosed(), "connection with a bad v2 header closed");
    }

    /** On a WebSocket listener the header comes first, then the HTTP upgrade. */
    @Test
    void webSocketBehindProxy() throws Exception {
        WsRawClient c = track(WsRawClient.open(proxyWsPort, "/mqtt", "mqtt",
                v1("TCP4", "203.0.113.80", "192.0.2.1", 4444, 443)));
        assertTrue(c.status.startsWith("HTTP/1.1 101"), c.status);
        c.binary(connect(id("w")));
        c.expect(MqttMessageType.CONNACK);
        assertEquals(new InetSocketAddress("203.0.113.80", 4444), seen.get(id("w")));
        assertEquals("203.0.113.80:4444", client(id("w")).remoteAddress());
    }

    // ------------------------------------------------------------------------------------------- real HAProxy

    @Test
    void throughHaproxySendProxy() throws Exception {
        throughHaproxy("send-proxy");
    }

    @Test
    void throughHaproxySendProxyV2() throws Exception {
        throughHaproxy("send-proxy-v2");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Runs haproxy in TCP mode in front of the PROXY listener, connects through it and checks that the broker saw
     * the client's own socket (its local port), not haproxy's connection to the broker.
     */
    private void throughHaproxy(String sendProxy) throws Exception {
        Path haproxy = Path.of("/usr/sbin/haproxy");
        if (!Files.isExecutable(haproxy)) {
            fail("haproxy is not installed: install the Debian package haproxy (./test.sh does)");
        }
        int front = freePort();
        Path cfg = Files.createTempFile("brokkr-haproxy", ".cfg");
        Files.writeString(cfg, String.join("\n",
                "global",
                "  maxconn 100",
                "defaults",
                "  mode tcp",
                "  timeout connect 5s",
                "  timeout client 30s",
                "  timeout server 30s",
                "frontend mqtt",
                "  bind 127.0.0.1:" + front,
                "  default_backend brokkr",
                "backend brokkr",
                "  server b1 127.0.0.1:" + proxyPort + " " + sendProxy,
                ""));
        Process p = new ProcessBuilder(haproxy.toString(), "-db", "-f", cfg.toString()).redirectErrorStream(true)
                .start();
        try (Socket s = awaitConnect(front, p)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(connect(id("h")));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            assertArrayEquals(new byte[] {0x20, 0x02, 0x00, 0x00}, in.readNBytes(4), "CONNACK through haproxy");
            InetSocketAddress a = seen.get(id("h"));
            assertNotNull(a);
            assertEquals(s.getLocalPort(), a.getPort(), "the client's own port, not haproxy's");
            assertEquals("127.0.0.1:" + s.getLocalPort(), client(id("h")).remoteAddress());
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            Files.deleteIfExists(cfg);
        }
    }

    private static Socket awaitConnect(int port, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return new Socket("127.0.0.1", port);
            } catch (IOException e) {
                if (!p.isAlive()) {
                    fail("haproxy exited: " + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                }
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
