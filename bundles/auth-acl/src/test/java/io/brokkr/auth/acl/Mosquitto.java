package io.brokkr.auth.acl;

import io.brokkr.broker.testing.Procs;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** A real mosquitto 2.0.11 on a free port of 127.0.0.1 with a given ACL file, anonymous access on, no passwords. */
public final class Mosquitto implements AutoCloseable {

    private final Process process;
    private final Path log;
    public final int port;

    public Mosquitto(Path dir, Path aclFile) throws Exception {
        port = Procs.freePort();
        Path conf = dir.resolve("mosquitto-" + port + ".conf");
        log = dir.resolve("mosquitto-" + port + ".log");
        // user root: the tests run as root and the files are the owner's only; mosquitto would otherwise switch to
        // the mosquitto user and not be able to read them
        Files.writeString(conf, "listener " + port + " 127.0.0.1\nallow_anonymous true\nacl_file "
                + aclFile.toAbsolutePath() + "\npersistence false\nuser root\nlog_type all\n");
        process = new ProcessBuilder("mosquitto", "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        Procs.until(Duration.ofSeconds(20), "mosquitto listening on " + port, () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("mosquitto ended: " + log());
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException notYet) {
                return false;
            }
        });
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        process.waitFor();
    }
}
