package io.brokkr.broker.testing;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real mosquitto (Debian's 2.0.11) on a free port of 127.0.0.1 with given settings, to compare Brokkr with: the
 * same password or ACL file, the same clients.
 */
public final class Mosquitto implements AutoCloseable {

    private final Process process;
    private final Path log;
    public final int port;

    /** Anonymous access off, the users of {@code passwordFile}. */
    public static Mosquitto withPasswordFile(Path dir, Path passwordFile) throws Exception {
        return new Mosquitto(dir, "allow_anonymous false\npassword_file " + passwordFile.toAbsolutePath() + "\n");
    }

    /** Anonymous access on, no passwords, the rights of {@code aclFile}. */
    public static Mosquitto withAclFile(Path dir, Path aclFile) throws Exception {
        return new Mosquitto(dir, "allow_anonymous true\nacl_file " + aclFile.toAbsolutePath() + "\n");
    }

    /** @param settings mosquitto.conf lines for the listener (each ending with a newline) */
    public Mosquitto(Path dir, String settings) throws Exception {
        port = Procs.freePort();
        Path conf = dir.resolve("mosquitto-" + port + ".conf");
        log = dir.resolve("mosquitto-" + port + ".log");
        // user root: the tests run as root and their files are the owner's only; mosquitto would otherwise switch to
        // the mosquitto user and not be able to read them
        Files.writeString(conf, "listener " + port + " 127.0.0.1\n" + settings
                + "persistence false\nuser root\nlog_type all\n");
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
