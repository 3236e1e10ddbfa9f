package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * MQTT 5 User Properties sent as the only properties of a PUBLISH reach clients we did not write, with the broker
 * running in Karaf: Mosquitto's command line clients ({@code mosquitto_sub -F '%t %P [%p]'}, live and retained)
 * and Eclipse Paho for Python (Debian's python3-paho-mqtt, the script
 * {@code bundles/broker/src/test/resources/interop/paho_user_properties.py}, whose path is handed to Karaf as the
 * system property {@code brokkr.interop.script}). {@code ./test.sh} installs both. The clients run as processes
 * started from inside Karaf.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class UserPropertiesIT extends BrokerTestSupport {

    static final String LISTENER = "itest-props";
    static final String PYTHON = "/usr/bin/python3";

    private int port;

    /** Runs on the host, where the working directory is itests/. */
    @Override
    protected Option[] extraOptions() {
        File script = new File("../bundles/broker/src/test/resources/interop/paho_user_properties.py")
                .getAbsoluteFile();
        if (!script.isFile()) {
            throw new IllegalStateException("Paho Python interop script not found: " + script);
        }
        return new Option[] {editConfigurationFilePut("etc/system.properties", "brokkr.interop.script",
                script.toPath().normalize().toString())};
    }

    @Before
    public void listener() throws Exception {
        ensureFeature("brokkr-core");
        port = openListener(LISTENER);
    }

    @After
    public void closeListener() throws Exception {
        closeListener(LISTENER);
    }

    // ------------------------------------------------------------------------------------------------ processes

    private List<String> mosquitto(String tool, String... args) {
        List<String> c = new ArrayList<>(List.of(tool(tool, "mosquitto-clients"), "-h", "127.0.0.1", "-p",
                String.valueOf(port)));
        c.addAll(List.of(args));
        return c;
    }

    private static Process start(List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Waits for the process (at most 30 s) and returns its output; fails on a non-zero exit. */
    private static String finish(Process p, List<String> command) throws Exception {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish; output: " + output(p));
        }
        String out = output(p);
        assertEquals(String.join(" ", command) + " failed: " + out, 0, p.exitValue());
        return out;
    }

    private static String run(List<String> command) throws Exception {
        return finish(start(command), command);
    }

    private static String output(Process p) throws IOException {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------------------------ tests

    @Test
    public void mosquittoSubShowsUserPropertiesSentAlone() throws Exception {
        List<String> subCmd = mosquitto("mosquitto_sub", "-V", "5", "-i", "itest-up-sub", "-t", "up/#",
                "-F", "%t %P [%p]", "-C", "1", "-W", "20");
        Process sub = start(subCmd);
        await("mosquitto_sub is subscribed", () -> broker().subscriptions().stream()
                .anyMatch(s -> s.clientId().equals("itest-up-sub") && s.fullFilter().equals("up/#")));
        run(mosquitto("mosquitto_pub", "-V", "5", "-t", "up/x", "-q", "1", "-m", "hi",
                "-D", "publish", "user-property", "a", "2", "-D", "publish", "user-property", "c", "3"));
        assertEquals("up/x a:2 c:3 [hi]\n", finish(sub, subCmd));
    }

    @Test
    public void mosquittoSubShowsRetainedUserProperties() throws Exception {
        run(mosquitto("mosquitto_pub", "-V", "5", "-t", "upr/x", "-q", "1", "-r", "-m", "hi",
                "-D", "publish", "user-property", "a", "2", "-D", "publish", "user-property", "c", "3"));
        assertEquals("upr/x a:2 c:3 [hi]\n", run(mosquitto("mosquitto_sub", "-V", "5", "-t", "upr/#",
                "-F", "%t %P [%p]", "-C", "1", "-W", "20")));
        run(mosquitto("mosquitto_pub", "-V", "5", "-r", "-t", "upr/x", "-n"));
        await("the retained message is cleared", () -> broker().retained("upr/#").isEmpty());
    }

    @Test
    public void pahoPythonReceivesUserPropertiesSentAlone() throws Exception {
        String script = System.getProperty("brokkr.interop.script");
        assertTrue("system property brokkr.interop.script names the script: " + script,
                script != null && new File(script).isFile());
        List<String> check = List.of(PYTHON, "-c", "import paho.mqtt.client");
        Process p = new File(PYTHON).canExecute() ? start(check) : null;
        if (p == null || !p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail(PYTHON + " cannot import paho.mqtt" + (p == null ? " (no " + PYTHON + ")" : ": " + output(p).strip())
                    + ". Install the Debian package python3-paho-mqtt (./test.sh installs it)");
        }
        for (String mode : List.of("live", "retained")) {
            String topic = "py/up/" + mode;
            assertEquals(mode, topic + " a:2 c:3 a:2 [hi] retain=" + ("retained".equals(mode) ? 1 : 0) + "\n",
                    run(List.of(PYTHON, script, "127.0.0.1", String.valueOf(port), topic, mode)));
        }
    }
}
