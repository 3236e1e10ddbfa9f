package io.brokkr.auth.passwd;

import io.brokkr.broker.testing.Procs;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** A real mosquitto 2.0.11 on a free port of 127.0.0.1 using a given password file, anonymous access off. */
public final class Mosquitto implements AutoCloseable {

    private final Process process;
    private final Path log;
    public final int port;

    public Mosquitto(Path dir, Path passwordFile) throws Exception {
        port = Procs.freePort();
        Path conf = dir.resolve("mosquitto-" + port + ".conf");
        log = dir.resolve("mosquitto-" + port + ".log");
        // user root: the tests run as root and the password file is the owner's only; mosquitto would otherwise
        // switch to the mosquitto user and not be able to read it
        Files.writeString(conf, "listener " + port + " 127.0.0.1\nallow_anonymous false\npassword_file "
                + passwordFile.toAbsolutePath() + "\npersistence false\nuser root\nlog_type all\n");
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

    /** mosquitto_pub with MQTT 3.1.1 against this mosquitto. */
    public Procs.Result pub(String user, String password) throws Exception {
        return Procs.run("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V", "mqttv311",
                "-u", user, "-P", password, "-t", "t/x", "-m", "hi");
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
