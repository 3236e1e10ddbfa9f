package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.mqttString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Bad input from many clients at once does not hurt anyone else: valid MQTT 3.1, 3.1.1 and 5 packet sequences
 * (CONNECT with will, user properties and limits; PUBLISH at every QoS with MQTT 5 properties, SUBSCRIBE with shared
 * filters and subscription identifiers, UNSUBSCRIBE, acknowledgements, PINGREQ, DISCONNECT, AUTH), one packet of each
 * connection mutated (bit flips, special bytes, cuts, insertions, a wrong remaining length, repetitions), sent in
 * one or two writes; then the client half-closes. The broker must end every such connection promptly (no connection
 * stays open after its client has gone), keep delivering QoS 1 messages between two well-behaved clients without a
 * loss, and end with no connection but theirs. A fixed seed makes a failure repeatable; {@code -Dfuzz.seed=N} and
 * {@code -Dfuzz.iterations=N} run others (the same mutator, run by hand from Python against the Karaf distribution
 * with Netty's paranoid leak detection, found no leak in 7,000 connections).
 */
class MalformedInputFuzzTest extends BrokerTestBase {

    private static final long SEED = Long.getLong("fuzz.seed", 20261130L);
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 1_200);

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.queued.messages", "200");
        return m;
    }

    @Test
    void mutatedPacketsNeitherHangConnectionsNorDisturbOtherClients() throws Exception {
        Random rnd = new Random(SEED);
        RawClient sub = v311("watch-sub");
        sub.subscribe(1, "watch/#", 1);
        RawClient pub = v311("watch-pub");
        int sent = 0;
        int packetId = 1;
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] data = sequence(rnd, i);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
                s.setSoTimeout(3_000);
                if (rnd.nextBoolean()) {
                    s.getOutputStream().write(data);
                } else {
                    int k = rnd.nextInt(data.length);
                    s.getOutputStream().write(data, 0, k);
                    s.getOutputStream().flush();
                    s.getOutputStream().write(data, k, data.length - k);
                }
                s.shutdownOutput();
                awaitEnd(s, data, i);
            }
            if (i % 100 == 99) {
                for (int k = 0; k < 5; k++) {
                    pub.publish1("watch/m", "m" + sent, packetId++);
                    sent++;
                }
                for (int k = sent - 5; k < sent; k++) {
                    sub.acknowledge(sub.expectPublish("watch/m", "m" + k));
                }
            }
        }
        assertTrue(sent >= 5, "the watch pair exchanged messages");
        long deadline = System.currentTimeMillis() + 5_000;
        while (broker.listeners().get(0).connections() != 2 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(2, broker.listeners().get(0).connections(), "open connections after the fuzzing: the watch pair");
        pub.publish1("watch/m", "last", packetId);
        sub.expectPublish("watch/m", "last");
    }

    /** Reads what the broker answers until it closes the connection; fails if it keeps it open for 3 s. */
    private static void awaitEnd(Socket s, byte[] sentBytes, int iteration) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) >= 0) {
                // answers are not checked: any reaction is allowed, staying open after the client left is not
            }
        } catch (SocketTimeoutException e) {
            fail("iteration " + iteration + " (seed " + SEED + "): the broker kept the connection open 3 s after the"
                    + " client half-closed; bytes sent: " + hex(sentBytes));
        } catch (IOException e) {
            // a reset: the broker closed while unread bytes were left, an end too
        }
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(b.length, 400); i++) {
            sb.append(String.format("%02x", b[i] & 0xFF));
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------ packet making

    private static byte[] sequence(Random rnd, int i) {
        int v = new int[] {3, 4, 5}[rnd.nextInt(3)];
        byte[] connect = connect(v, "fz" + (i % 40), rnd.nextInt(10) < 3, rnd.nextBoolean() ? "u" : null,
                rnd.nextInt(10) < 7);
        List<byte[]> seeds = seeds(v);
        List<byte[]> seq = new ArrayList<>();
        int n = 1 + rnd.nextInt(6);
        for (int k = 0; k < n; k++) {
            seq.add(seeds.get(rnd.nextInt(seeds.size())));
        }
        if (rnd.nextInt(100) < 15) {
            connect = mutate(connect, rnd);
        } else {
            int j = rnd.nextInt(seq.size());
            seq.set(j, mutate(seq.get(j), rnd));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(connect);
        seq.forEach(out::writeBytes);
        return out.toByteArray();
    }

    private static byte[] mutate(byte[] in, Random rnd) {
        List<Byte> b = new ArrayList<>();
        for (byte x : in) {
            b.add(x);
        }
        int ops = 1 + rnd.nextInt(4);
        for (int o = 0; o < ops; o++) {
            if (b.isEmpty()) {
                b.add((byte) rnd.nextInt(256));
                continue;
            }
            int i = rnd.nextInt(b.size());
            switch (rnd.nextInt(7)) {
                case 0 -> b.set(i, (byte) (b.get(i) ^ (1 << rnd.nextInt(8))));
                case 1 -> b.set(i, (byte) new int[] {0, 0xFF, 0x7F, 0x80, 0x01, 0x26, 0x0B, 0x23}[rnd.nextInt(8)]);
                case 2 -> {
                    for (int k = Math.min(b.size(), i + 1 + rnd.nextInt(3)) - 1; k >= i; k--) {
                        b.remove(k);
                    }
                }
                case 3 -> {
                    int k = 1 + rnd.nextInt(4);
                    for (int j = 0; j < k; j++) {
                        b.add(i, (byte) rnd.nextInt(256));
                    }
                }
                case 4 -> b.subList(i, b.size()).clear();
                case 5 -> {
                    if (b.size() > 1) {
                        b.set(1, (byte) rnd.nextInt(256)); // remaining length
                    }
                }
                default -> b.addAll(i, new ArrayList<>(b.subList(i, Math.min(b.size(), i + 1 + rnd.nextInt(8)))));
            }
        }
        byte[] out = new byte[b.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }

    private static List<byte[]> seeds(int v) {
        boolean v5 = v == 5;
        List<byte[]> l = new ArrayList<>();
        l.add(publish(v5, "fuzz/a", "xxxxxxxxxx", 0, 0, false));
        l.add(publish(v5, "fuzz/b", "hello", 1, 7, false));
        l.add(publish(v5, "fuzz/c", "q2", 2, 9, false));
        l.add(publish(v5, "fuzz/r", "ret", 1, 8, true));
        ByteArrayOutputStream sub = new ByteArrayOutputStream();
        sub.writeBytes(u16(3));
        if (v5) {
            sub.writeBytes(props(bytes(0x0B, 5), userProp("s", "1")));
        }
        for (String f : new String[] {"fuzz/#", "$share/g/fuzz/+", "+/x/#"}) {
            sub.writeBytes(mqttString(f));
            sub.write(v5 ? 0x06 : 1);
        }
        l.add(packet(0x82, sub.toByteArray()));
        ByteArrayOutputStream unsub = new ByteArrayOutputStream();
        unsub.writeBytes(u16(4));
        if (v5) {
            unsub.writeBytes(props(userProp("u", "1")));
        }
        unsub.writeBytes(mqttString("fuzz/#"));
        unsub.writeBytes(mqttString("a/b"));
        l.add(packet(0xA2, unsub.toByteArray()));
        int[] firsts = {0x40, 0x50, 0x62, 0x70};
        for (int k = 0; k < firsts.length; k++) {
            byte[] body = u16(k + 1);
            if (v5) {
                body = concat(body, bytes(0), props(concat(bytes(0x1F), mqttString("why")), userProp("x", "y")));
            }
            l.add(packet(firsts[k], body));
        }
        l.add(bytes(0xC0, 0));
        l.add(v5 ? packet(0xE0, concat(bytes(4),
                props(concat(bytes(0x11), u32(0)), concat(bytes(0x1F), mqttString("bye")))))
                : bytes(0xE0, 0));
        if (v5) {
            l.add(packet(0xF0, concat(bytes(0), props(concat(bytes(0x15), mqttString("m"))))));
        }
        return l;
    }

    private static byte[] connect(int v, String clientId, boolean will, String user, boolean clean) {
        int flags = clean ? 0x02 : 0;
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        payload.writeBytes(mqttString(clientId));
        if (will) {
            flags |= 0x04 | 0x08;
            if (v == 5) {
                payload.writeBytes(props(concat(bytes(0x18), u32(0)), bytes(0x01, 1), userProp("w", "1")));
            }
            payload.writeBytes(mqttString("fuzz/will"));
            payload.writeBytes(mqttString("gone"));
        }
        if (user != null) {
            flags |= 0x80;
            payload.writeBytes(mqttString(user));
        }
        ByteArrayOutputStream vh = new ByteArrayOutputStream();
        vh.writeBytes(mqttString(v == 3 ? "MQIsdp" : "MQTT"));
        vh.write(v);
        vh.write(flags);
        vh.writeBytes(u16(30));
        if (v == 5) {
            vh.writeBytes(props(concat(bytes(0x11), u32(60)), concat(bytes(0x21), u16(20)),
                    concat(bytes(0x22), u16(10)), userProp("a", "b")));
        }
        return packet(0x10, concat(vh.toByteArray(), payload.toByteArray()));
    }

    private static byte[] publish(boolean v5, String topic, String payload, int qos, int id, boolean retain) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(mqttString(topic));
        if (qos > 0) {
            body.writeBytes(u16(id));
        }
        if (v5) {
            body.writeBytes(props(bytes(0x01, 1), concat(bytes(0x02), u32(100)), bytes(0x23, 0, 1),
                    concat(bytes(0x08), mqttString("fuzz/resp")), concat(bytes(0x09), mqttString("cd")),
                    userProp("k", "v"),
                    concat(bytes(0x03), mqttString("text/plain"))));
        }
        body.writeBytes(payload.getBytes(StandardCharsets.UTF_8));
        return packet(0x30 | qos << 1 | (retain ? 1 : 0), body.toByteArray());
    }

    private static byte[] packet(int first, byte[] body) {
        return concat(bytes(first), varInt(body.length), body);
    }

    private static byte[] props(byte[]... items) {
        byte[] body = concat(items);
        return concat(varInt(body.length), body);
    }

    private static byte[] userProp(String k, String v) {
        return concat(bytes(0x26), mqttString(k), mqttString(v));
    }

    private static byte[] varInt(int n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        do {
            int b = n % 128;
            n /= 128;
            out.write(n > 0 ? b | 0x80 : b);
        } while (n > 0);
        return out.toByteArray();
    }

    private static byte[] u16(int n) {
        return bytes(n >> 8 & 0xFF, n & 0xFF);
    }

    private static byte[] u32(int n) {
        return bytes(n >>> 24, n >> 16 & 0xFF, n >> 8 & 0xFF, n & 0xFF);
    }

    private static byte[] bytes(int... v) {
        return Packets.bytes(v);
    }

    private static byte[] concat(byte[]... parts) {
        return Packets.concat(parts);
    }
}
