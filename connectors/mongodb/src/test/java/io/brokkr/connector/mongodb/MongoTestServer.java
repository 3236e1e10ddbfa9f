package io.brokkr.connector.mongodb;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;

/**
 * A MongoDB wire-protocol server in this JVM on loopback (de.bwaldvogel mongo-java-server, memory backend): no real
 * mongod can be installed on the build machines, see the README's MongoDB connector section for what this does and
 * does not verify. {@link #restart} binds a new, empty server to the same port.
 */
final class MongoTestServer implements AutoCloseable {

    private final int port;
    private MongoServer server;

    MongoTestServer() {
        this(freePort());
    }

    MongoTestServer(int port) {
        this.port = port;
        start();
    }

    int port() {
        return port;
    }

    String uri() {
        return "mongodb://127.0.0.1:" + port;
    }

    void start() {
        server = new MongoServer(new MemoryBackend());
        server.bind("127.0.0.1", port);
    }

    void stop() {
        if (server != null) {
            server.shutdownNow();
            server = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
