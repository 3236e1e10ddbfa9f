package io.brokkr.connector.jdbc;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A throw-away PostgreSQL cluster for a test class: {@code initdb} in a temp directory (a superuser {@link #USER}
 * with a scram-sha-256 password, the only way in), {@code postgres} on a free loopback port and a Unix socket in the
 * same directory, stopped and deleted by {@link #close()}.
 *
 * <p>The binaries are Debian's ({@code /usr/lib/postgresql/<version>/bin}, package postgresql, which {@code ./test.sh}
 * installs); without them the test is skipped. PostgreSQL refuses to run as root, so as root every command runs as
 * the user {@code postgres} ({@code runuser -u postgres --}), which is given the temp directory.
 */
final class PostgresServer implements AutoCloseable {

    static final String USER = "brokkr";
    static final String PASSWORD = "brokkr-test-pw";

    private final Path bin;
    private final Path dir;
    private final Path data;
    private final int port;
    private final boolean root;
    /** Whether {@link #signal} sent STOP last (then {@link #close()} sends CONT before stopping the server). */
    private volatile boolean suspended;

    private PostgresServer(Path bin, Path dir, int port, boolean root) {
        this.bin = bin;
        this.dir = dir;
        this.data = dir.resolve("data");
        this.port = port;
        this.root = root;
    }

    /** Creates and starts a cluster, or skips the test if PostgreSQL is not installed. */
    static PostgresServer start() throws Exception {
        Path bin = findBin();
        Assumptions.assumeTrue(bin != null, "PostgreSQL server binaries (initdb, pg_ctl) not found under "
                + "/usr/lib/postgresql/*/bin: install the Debian package postgresql (./test.sh does) to run this test");
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("brokkr-pg-");
        PostgresServer server = new PostgresServer(bin, dir, freePort(), root);
        try {
            Path pwFile = dir.resolve("pw");
            Files.writeString(pwFile, PASSWORD + "\n");
            if (root) {
                UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByName("postgres");
                Files.setOwner(dir, postgres);
                Files.setOwner(pwFile, postgres);
            }
            server.run(60, "initdb", "-D", server.data.toString(), "-U", USER, "--pwfile=" + pwFile,
                    "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions");
            Files.delete(pwFile);
            server.startServer();
            return server;
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
    }

    int port() {
        return port;
    }

    String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** A connection of the test's own, to look at what the connector wrote (auto-commit). */
    Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", PASSWORD);
        return DriverManager.getConnection(url(), p);
    }

    /** {@code pg_ctl start}: returns once the server accepts connections. */
    void startServer() throws IOException, InterruptedException {
        run(60, "pg_ctl", "-D", data.toString(), "-l", dir.resolve("server.log").toString(), "-w", "-t", "60",
                "-o", "-c listen_addresses=127.0.0.1 -p " + port + " -k " + dir + " -c fsync=off", "start");
    }

    /** {@code pg_ctl stop -m fast}: ends every session (the clients see their connection closed) and stops. */
    void stopServer() throws IOException, InterruptedException {
        run(60, "pg_ctl", "-D", data.toString(), "-m", "fast", "-w", "-t", "60", "stop");
    }

    /** After a test that stopped or suspended the server: lets it run again (for the next test of the class). */
    void ensureRunning() throws IOException, InterruptedException {
        if (suspended) {
            signal("CONT");
        }
        if (!Files.exists(data.resolve("postmaster.pid"))) {
            startServer();
        }
    }

    /** Process ids of the postmaster and of every process it forked (sessions, background workers). */
    List<Long> processIds() throws IOException {
        long pid = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
        List<Long> pids = new ArrayList<>();
        pids.add(pid);
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
        return pids;
    }

    /** Sends a signal (STOP, CONT) to the server's processes: STOP makes a server that accepts TCP but never answers. */
    void signal(String signal) throws IOException, InterruptedException {
        suspended = signal.equals("STOP");
        for (long pid : processIds()) {
            new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                if (suspended) {
                    signal("CONT");
                }
                run(60, "pg_ctl", "-D", data.toString(), "-m", "immediate", "-w", "stop");
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void run(int timeoutSeconds, String command, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (root) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.add(bin.resolve(command).toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("brokkr-pg-cmd", ".log");
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd + " did not finish within " + timeoutSeconds + " s");
            }
            if (p.exitValue() != 0) {
                Path log = dir.resolve("server.log");
                throw new IOException(cmd + " failed with " + p.exitValue() + ": "
                        + Files.readString(out, StandardCharsets.UTF_8)
                        + (Files.exists(log) ? "\nserver.log:\n" + Files.readString(log) : ""));
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static Path findBin() throws IOException {
        Path base = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(base)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(base)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(b -> version(b.getParent().getFileName().toString())))
                    .orElse(null);
        }
    }

    private static int version(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
