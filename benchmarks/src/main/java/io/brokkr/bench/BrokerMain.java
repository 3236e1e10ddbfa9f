package io.brokkr.bench;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.transport.Listener;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the plain-Java {@link Broker} engine with one TCP listener, without Karaf, for benchmarks.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.BrokerMain [--host 127.0.0.1] [--port 1883] [key=value ...]
 * </pre>
 *
 * {@code key=value} arguments are broker cfg keys (those of {@code etc/io.brokkr.broker.cfg}, see
 * {@link BrokerConfig#fromProperties}), e.g. {@code max.queued.messages=1000000 io.threads=2}. Prints
 * {@code BROKKR READY port=<port> pid=<pid>} once the listener is bound; stops on SIGTERM/SIGINT.
 * <p>
 * Like the Karaf distribution (its {@code bin/setenv}), it sets {@code io.netty.allocator.maxOrder=7} unless given:
 * 1 MiB chunks in Netty's buffer pools instead of 4 MiB. The JVM options of {@code bin/setenv} (native heap
 * trimming, heap free ratios, periodic GC) go on the java command line: see {@code benchmarks/run.sh}.
 */
public final class BrokerMain {

    private BrokerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (System.getProperty("io.netty.allocator.maxOrder") == null) {
            System.setProperty("io.netty.allocator.maxOrder", "7"); // before any Netty class reads it
        }
        String host = "127.0.0.1";
        int port = 1883;
        Map<String, String> cfg = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: BrokerMain [--host H] [--port P] [cfg.key=value ...]");
                    return;
                }
                default -> {
                    int eq = a.indexOf('=');
                    if (eq <= 0) {
                        System.err.println("unknown argument: " + a);
                        System.exit(2);
                    }
                    cfg.put(a.substring(0, eq), a.substring(eq + 1));
                }
            }
        }
        Broker broker = new Broker(BrokerConfig.fromProperties(cfg));
        broker.start();
        Listener l = broker.openListener(ListenerConfig.tcp("bench", host, port));
        if (l.port() < 0) {
            System.err.println("BROKKR FAILED " + l.error());
            broker.stop();
            System.exit(1);
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.stop();
            done.countDown();
        }, "brokkr-shutdown"));
        System.out.println("BROKKR READY port=" + l.port() + " pid=" + ProcessHandle.current().pid());
        System.out.flush();
        done.await();
    }
}
