package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A bare WebSocket client on a plain socket for the WebSocket listener tests: it writes the HTTP upgrade and every
 * frame itself (masked, as a client must, RFC 6455 5.3), so that a test decides how MQTT packets are cut into frames
 * (split over frames, several in one, fragmented with continuation frames, text frames). What the broker sends is
 * read on a thread of its own: binary payloads go through Netty's MQTT decoder into a queue, a close frame's status
 * code is kept. MQTT 3.1.1 only (the decoder is not told about MQTT 5).
 */
final class WsRawClient implements AutoCloseable {

    static final int OP_CONTINUATION = 0x0;
    static final int OP_TEXT = 0x1;
    static final int OP_BINARY = 0x2;
    static final int OP_CLOSE = 0x8;

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    /** The status line of the upgrade response. */
    final String status;
    /** Its headers, names in lower case. */
    final Map<String, String> headers;
    private final BlockingQueue<MqttMessage> received = new LinkedBlockingQueue<>();
    private final EmbeddedChannel decoder = new EmbeddedChannel(new MqttDecoder());
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile int closeStatus = -1;

    private WsRawClient(Socket socket, String status, Map<String, String> headers) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = socket.getInputStream();
        this.status = status;
        this.headers = headers;
    }

    /**
     * Opens a connection and sends the upgrade request for {@code path} asking for {@code subprotocols} (null: no
     * Sec-WebSocket-Protocol header); returns the client with the response whatever it was (a test checks
     * {@link #status}). {@code before} is written first (a PROXY protocol header), if not null.
     */
    static WsRawClient open(int port, String path, String subprotocols, byte[] before) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout((int) RawClient.TIMEOUT_MS * 2);
        byte[] key = new byte[16];
        ThreadLocalRandom.current().nextBytes(key);
        String request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\n"
                + "Sec-WebSocket-Version: 13\r\n"
                + (subprotocols == null ? "" : "Sec-WebSocket-Protocol: " + subprotocols + "\r\n") + "\r\n";
        if (before != null) {
            s.getOutputStream().write(before);
        }
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        String status = line(in);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int colon = h.indexOf(':');
            headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
        }
        WsRawClient c = new WsRawClient(s, status, headers);
        if (status != null && status.contains(" 101 ")) {
            Thread reader = new Thread(c::readFrames, "ws-raw-client");
            reader.setDaemon(true);
            reader.start();
        }
        return c;
    }

    /** One CRLF-terminated line of the HTTP response, or null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.US_ASCII);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.US_ASCII);
    }

    /** The bytes of an MQTT packet as Netty's encoder writes them. */
    static byte[] encode(MqttMessage m) {
        EmbeddedChannel ch = new EmbeddedChannel(MqttEncoder.INSTANCE);
        ch.writeOutbound(m);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (ByteBuf buf = ch.readOutbound(); buf != null; buf = ch.readOutbound()) {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            buf.release();
            b.writeBytes(bytes);
        }
        ch.finishAndReleaseAll();
        return b.toByteArray();
    }

    /** Sends one masked frame. */
    synchronized void frame(int opcode, boolean fin, byte[] payload) throws IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.write((fin ? 0x80 : 0) | opcode);
        int n = payload.length;
        if (n < 126) {
            f.write(0x80 | n);
        } else if (n < 65_536) {
            f.write(0x80 | 126);
            f.write(n >>> 8);
            f.write(n);
        } else {
            f.write(0x80 | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                f.write((int) ((long) n >>> shift));
            }
        }
        byte[] mask = new byte[4];
        ThreadLocalRandom.current().nextBytes(mask);
        f.writeBytes(mask);
        for (int i = 0; i < n; i++) {
            f.write(payload[i] ^ mask[i & 3]);
        }
        out.write(f.toByteArray());
        out.flush();
    }

    /** Sends the bytes as one binary frame. */
    void binary(byte[] payload) throws IOException {
        frame(OP_BINARY, true, payload);
    }

    private void readFrames() {
        try {
            while (true) {
                int b0 = in.read();
                int b1 = in.read();
                if (b0 < 0 || b1 < 0) {
                    return;
                }
                long n = b1 & 0x7F;
                if (n == 126) {
                    n = (in.read() << 8) | in.read();
                } else if (n == 127) {
                    n = 0;
                    for (int i = 0; i < 8; i++) {
                        n = (n << 8) | in.read();
                    }
                }
                byte[] payload = in.readNBytes((int) n);
                int opcode = b0 & 0x0F;
                if (opcode == OP_BINARY || opcode == OP_CONTINUATION) {
                    decoder.writeInbound(Unpooled.wrappedBuffer(payload));
                    for (Object m = decoder.readInbound(); m != null; m = decoder.readInbound()) {
                        received.add((MqttMessage) m);
                    }
                } else if (opcode == OP_CLOSE) {
                    closeStatus = payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
                }
            }
        } catch (IOException e) {
            // closed
        } finally {
            decoder.finishAndReleaseAll();
            closed.countDown();
        }
    }

    MqttMessage poll(long millis) throws InterruptedException {
        return received.poll(millis, TimeUnit.MILLISECONDS);
    }

    MqttMessage expect(MqttMessageType type) throws InterruptedException {
        MqttMessage m = poll(RawClient.TIMEOUT_MS);
        assertNotNull(m, "expected " + type + " but nothing arrived");
        assertEquals(type, m.fixedHeader().messageType(), "unexpected packet " + m);
        return m;
    }

    /** Whether the broker closed the connection within the timeout. */
    boolean awaitClosed() throws InterruptedException {
        return closed.await(RawClient.TIMEOUT_MS * 2, TimeUnit.MILLISECONDS);
    }

    /** The status code of the broker's close frame, -1 if none came. */
    int closeStatus() {
        return closeStatus;
    }

    @Override
    public void close() throws IOException {
        socket.close(); // the reader thread ends and releases the decoder
    }
}
