package io.brokkr.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * The {@code retained} scenario: how long a new subscriber on {@code PREFIX/#} takes to receive N retained messages.
 * Any MQTT 3.1.1 broker (Brokkr's BrokerMain, Mosquitto). Plain blocking sockets and hand-made packets, so the
 * client costs little next to the broker.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.RetainedBench [--host 127.0.0.1] [--port 1883] [--messages 100000] [--payload 32]
 *     [--prefix r] [--repeat 5] [--label brokkr] [--verify] [--pid BROKER_PID]
 * </pre>
 *
 * First publishes N retained QoS 0 messages on {@code PREFIX/0 .. PREFIX/N-1} (the last one QoS 1: its PUBACK says
 * the broker has stored them all), then, {@code --repeat} times, connects a new clean-session client, sends
 * SUBSCRIBE {@code PREFIX/#} QoS 0 and measures the time from sending it to receiving the N-th retained PUBLISH.
 * Prints each run and one {@code RESULT scenario=retained ...} line (first run and median).
 */
public final class RetainedBench {

    private RetainedBench() {
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 1883;
        int n = 100_000;
        int payload = 32;
        String prefix = "r";
        int repeat = 5;
        String label = "broker";
        boolean verify = false;
        long pid = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--messages" -> n = Integer.parseInt(args[++i]);
                case "--payload" -> payload = Integer.parseInt(args[++i]);
                case "--prefix" -> prefix = args[++i];
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                case "--label" -> label = args[++i];
                case "--verify" -> verify = true;
                case "--pid" -> pid = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        long t0 = System.nanoTime();
        try (Socket s = connect(host, port, "retained-pub")) {
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 16);
            byte[] body = new byte[payload];
            Arrays.fill(body, (byte) 'x');
            for (int i = 0; i < n; i++) {
                boolean last = i == n - 1;
                out.write(publish(prefix + "/" + i, body, last ? 1 : 0, true, 1));
            }
            out.flush();
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            int type = readPacket(in, null);
            if (type != 0x40) {
                throw new IOException("expected PUBACK, got packet type 0x" + Integer.toHexString(type));
            }
        }
        System.out.printf("published %d retained messages in %d ms%n", n, (System.nanoTime() - t0) / 1_000_000);
        long[] ms = new long[repeat];
        long[] cpu = new long[repeat];
        boolean lost = false;
        for (int r = 0; r < repeat; r++) {
            try (Socket s = connect(host, port, "retained-sub-" + r)) {
                OutputStream out = s.getOutputStream();
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16));
                Set<String> topics = verify ? new HashSet<>() : null;
                byte[] filter = (prefix + "/#").getBytes(StandardCharsets.UTF_8);
                ByteArrayOutputStream sub = new ByteArrayOutputStream();
                sub.write(new byte[] {0, 1}); // packet id
                sub.write(filter.length >> 8);
                sub.write(filter.length);
                sub.write(filter);
                sub.write(0); // QoS 0
                long cpu0 = cpuMillis(pid);
                long start = System.nanoTime();
                out.write(frame(0x82, sub.toByteArray(), 0));
                out.flush();
                int got = 0;
                s.setSoTimeout(10_000);
                try {
                    while (got < n) {
                        int type = readPacket(in, topics);
                        if ((type & 0xF0) == 0x30) {
                            got++;
                        }
                    }
                } catch (java.net.SocketTimeoutException e) {
                    System.out.printf("run %d: only %d of %d retained messages arrived (nothing for 10 s)%n", r + 1,
                            got, n);
                    lost = true;
                    ms[r] = -1;
                    continue;
                }
                ms[r] = (System.nanoTime() - start) / 1_000_000;
                cpu[r] = cpuMillis(pid) - cpu0;
                System.out.printf("run %d: %d retained messages in %d ms%s%s%n", r + 1, got, ms[r],
                        pid > 0 ? ", broker CPU " + cpu[r] + " ms" : "",
                        verify ? " (" + topics.size() + " distinct topics)" : "");
                if (verify && topics.size() != n) {
                    throw new IllegalStateException("expected " + n + " distinct topics, got " + topics.size());
                }
            }
        }
        long[] sorted = ms.clone();
        Arrays.sort(sorted);
        System.out.println("RESULT scenario=retained broker=" + label + " messages=" + n + " payload=" + payload
                + " first_ms=" + ms[0] + " median_ms=" + sorted[sorted.length / 2] + " runs_ms="
                + Arrays.toString(ms).replace(" ", "")
                + (pid > 0 ? " cpu_ms=" + Arrays.toString(cpu).replace(" ", "") : "") + (lost ? " LOST" : ""));
    }

    /** User + system CPU time of a process in ms (Linux /proc), or 0 without a pid. */
    private static long cpuMillis(long pid) throws IOException {
        if (pid <= 0) {
            return 0;
        }
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10; // utime, stime in clock ticks (100 Hz)
    }

    private static Socket connect(String host, int port, String clientId) throws IOException {
        Socket s = new Socket(host, port);
        s.setTcpNoDelay(true);
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0}); // 3.1.1, clean session, keep alive 0
        b.write(id.length >> 8);
        b.write(id.length);
        b.write(id);
        s.getOutputStream().write(frame(0x10, b.toByteArray(), 0));
        s.getOutputStream().flush();
        DataInputStream in = new DataInputStream(s.getInputStream());
        int type = in.readUnsignedByte();
        int len = readVarInt(in);
        byte[] rest = in.readNBytes(len);
        if (type != 0x20 || rest.length < 2 || rest[1] != 0) {
            throw new IOException("CONNECT refused: " + Arrays.toString(rest));
        }
        return s;
    }

    private static byte[] publish(String topic, byte[] payload, int qos, boolean retain, int packetId)
            throws IOException {
        byte[] t = topic.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream(t.length + payload.length + 4);
        b.write(t.length >> 8);
        b.write(t.length);
        b.write(t);
        if (qos > 0) {
            b.write(packetId >> 8);
            b.write(packetId);
        }
        b.write(payload);
        return frame(0x30 | (qos << 1) | (retain ? 1 : 0), b.toByteArray(), 0);
    }

    /** A packet: first byte, remaining length, body (the first {@code skip} bytes of {@code body} left out). */
    private static byte[] frame(int first, byte[] body, int skip) {
        int len = body.length - skip;
        ByteArrayOutputStream b = new ByteArrayOutputStream(len + 5);
        b.write(first);
        int x = len;
        do {
            int d = x % 128;
            x /= 128;
            b.write(x > 0 ? d | 0x80 : d);
        } while (x > 0);
        b.write(body, skip, len);
        return b.toByteArray();
    }

    /** Reads one packet; returns its first byte. Collects the topic of a PUBLISH when {@code topics} is given. */
    private static int readPacket(DataInputStream in, Set<String> topics) throws IOException {
        int first = in.read();
        if (first < 0) {
            throw new EOFException("connection closed by the broker");
        }
        int len = readVarInt(in);
        if (topics != null && (first & 0xF0) == 0x30) {
            int tl = in.readUnsignedShort();
            topics.add(new String(in.readNBytes(tl), StandardCharsets.UTF_8));
            in.skipNBytes(len - 2 - tl);
        } else {
            in.skipNBytes(len);
        }
        return first;
    }

    private static int readVarInt(DataInputStream in) throws IOException {
        int v = 0;
        int mul = 1;
        int b;
        do {
            b = in.readUnsignedByte();
            v += (b & 0x7F) * mul;
            mul *= 128;
        } while ((b & 0x80) != 0);
        return v;
    }
}
