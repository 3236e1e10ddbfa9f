package io.brokkr.connector.elasticsearch;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.node.EmbeddedNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Test only: a real Elasticsearch 8.19 node in this JVM (the server jars are test scope and never in the bundle),
 * HTTP and transport on free loopback ports, data in a temp directory. One node per JVM: a second node in the same
 * JVM trips over static state of the server (a node id set once for logging); {@link EsNodeProcess} runs one in its
 * own JVM for a test that stops and starts the server.
 */
final class EsTestNode implements AutoCloseable {

    private static boolean loggingConfigured;

    private final Path home;
    final int httpPort;
    private final int transportPort;
    private Node node;

    EsTestNode(Path home) throws IOException {
        this(home, freePort(), freePort());
    }

    EsTestNode(Path home, int httpPort, int transportPort) {
        this.home = home;
        this.httpPort = httpPort;
        this.transportPort = transportPort;
    }

    String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    synchronized void start() throws Exception {
        Settings s = Settings.builder()
                .put("path.home", home.toString())
                .put("cluster.name", "brokkr-it")
                .put("node.name", "brokkr-it-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", httpPort)
                .put("transport.port", transportPort)
                .put("discovery.type", "single-node")
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("action.auto_create_index", true)
                .build();
        synchronized (EsTestNode.class) {
            if (!loggingConfigured) {
                LogConfigurator.configureESLogging(); // else an NPE in ES's LoggerFactory
                LogConfigurator.configureWithoutConfig(s);
                loggingConfigured = true;
            }
        }
        node = new EmbeddedNode(InternalSettingsPreparer.prepareEnvironment(s, Map.of(), null, () -> "brokkr-it-node"),
                List.of(Netty4Plugin.class, RootInfoPlugin.class));
        node.start();
    }

    synchronized void stop() throws Exception {
        if (node != null) {
            node.close();
            node.awaitClose(30, TimeUnit.SECONDS);
            node = null;
        }
    }

    @Override
    public void close() throws Exception {
        stop();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
