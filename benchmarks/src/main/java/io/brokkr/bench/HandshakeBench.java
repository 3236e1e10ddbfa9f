package io.brokkr.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * The CPU time of one TLS handshake on the server side, without a network or a broker: a server {@link SslHandler}
 * (the JDK's TLS or OpenSSL through netty-tcnative, as a Brokkr TLS listener makes it with {@code tls.provider}) and
 * a JDK client one, each in an {@link EmbeddedChannel}, hand their bytes to each other on one thread until both
 * handshakes are done; the thread CPU time spent in the server's calls is summed. Tells how much of a broker's CPU
 * per TLS connection (LoadTool's {@code tls-connect}) the TLS library itself takes.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.HandshakeBench --cert server.pem --key server.key --ca ca.pem
 *     [--provider jdk|openssl] [--tls-version TLSv1.3|TLSv1.2] [--warmup 5] [--duration 10]
 * </pre>
 * Prints {@code RESULT scenario=handshake provider=.. tls=.. cipher=.. handshakes=N server_cpu_ms_p50=..
 * server_cpu_ms_mean=.. client_cpu_ms_mean=.. process_cpu_ms_per_handshake=..}: the last one is the whole process
 * (client and server, and the garbage collector's and JIT compiler's threads) per handshake.
 */
public final class HandshakeBench {

    private HandshakeBench() {
    }

    public static void main(String[] args) throws Exception {
        String cert = null;
        String key = null;
        String ca = null;
        String provider = "jdk";
        String version = "TLSv1.3";
        int warmup = 5;
        int duration = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cert" -> cert = args[++i];
                case "--key" -> key = args[++i];
                case "--ca" -> ca = args[++i];
                case "--provider" -> provider = args[++i];
                case "--tls-version" -> version = args[++i];
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--duration" -> duration = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        SslProvider p = switch (provider) {
            case "jdk" -> SslProvider.JDK;
            case "openssl" -> SslProvider.OPENSSL;
            default -> throw new IllegalArgumentException("--provider jdk|openssl");
        };
        SslContext server = SslContextBuilder.forServer(new File(cert), new File(key)).sslProvider(p)
                .protocols(version).build();
        SslContext client = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                .trustManager(new File(ca)).protocols(version).build();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + warmup * 1_000_000_000L;
        while (System.nanoTime() < end) {
            handshake(server, client, mx, null);
        }
        Histogram serverCpu = new Histogram(10_000_000L, 3); // microseconds
        long[] totals = new long[2];
        String[] negotiated = new String[1];
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long p0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        end = t0 + duration * 1_000_000_000L;
        int n = 0;
        while (System.nanoTime() < end) {
            long[] cpu = handshake(server, client, mx, negotiated);
            serverCpu.recordValue(Math.max(1, cpu[0] / 1000));
            totals[0] += cpu[0];
            totals[1] += cpu[1];
            n++;
        }
        System.out.println("RESULT scenario=handshake provider=" + provider + " " + negotiated[0] + " handshakes=" + n
                + " server_cpu_ms_p50=" + ms(serverCpu.getValueAtPercentile(50) * 1000)
                + " server_cpu_ms_mean=" + ms(totals[0] / n) + " client_cpu_ms_mean=" + ms(totals[1] / n)
                + " process_cpu_ms_per_handshake=" + ms((os.getProcessCpuTime() - p0) / n));
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    /** One full handshake; returns the thread CPU nanoseconds of the server side and of the client side. */
    private static long[] handshake(SslContext serverCtx, SslContext clientCtx, ThreadMXBean mx, String[] negotiated)
            throws Exception {
        long serverNanos = 0;
        long clientNanos = 0;
        long t = mx.getCurrentThreadCpuTime();
        SslHandler sh = serverCtx.newHandler(ByteBufAllocator.DEFAULT);
        EmbeddedChannel s = new EmbeddedChannel(sh);
        long u = mx.getCurrentThreadCpuTime();
        serverNanos += u - t;
        SslHandler ch = clientCtx.newHandler(ByteBufAllocator.DEFAULT);
        EmbeddedChannel c = new EmbeddedChannel(ch); // the client sends its ClientHello when active
        t = mx.getCurrentThreadCpuTime();
        clientNanos += t - u;
        for (int round = 0; round < 20 && !(sh.handshakeFuture().isDone() && ch.handshakeFuture().isDone()); round++) {
            t = mx.getCurrentThreadCpuTime();
            for (ByteBuf b; (b = c.readOutbound()) != null; ) {
                s.writeInbound(b);
            }
            s.runPendingTasks();
            u = mx.getCurrentThreadCpuTime();
            serverNanos += u - t;
            for (ByteBuf b; (b = s.readOutbound()) != null; ) {
                c.writeInbound(b);
            }
            c.runPendingTasks();
            t = mx.getCurrentThreadCpuTime();
            clientNanos += t - u;
        }
        if (!sh.handshakeFuture().isSuccess() || !ch.handshakeFuture().isSuccess()) {
            throw new IllegalStateException("handshake failed: server " + sh.handshakeFuture().cause() + ", client "
                    + ch.handshakeFuture().cause());
        }
        if (negotiated != null && negotiated[0] == null) {
            negotiated[0] = "tls=" + sh.engine().getSession().getProtocol() + " cipher="
                    + sh.engine().getSession().getCipherSuite();
        }
        t = mx.getCurrentThreadCpuTime();
        s.finishAndReleaseAll();
        u = mx.getCurrentThreadCpuTime();
        c.finishAndReleaseAll();
        serverNanos += u - t;
        clientNanos += mx.getCurrentThreadCpuTime() - u;
        return new long[] {serverNanos, clientNanos};
    }
}
