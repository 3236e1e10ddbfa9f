package io.brokkr.broker.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import java.io.File;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Interoperability with Eclipse Paho for Python (Debian's python3-paho-mqtt, which {@code ./test.sh} installs), run
 * with {@code /usr/bin/python3}: the script {@code interop/paho_user_properties.py} publishes with MQTT 5 User
 * Properties only and prints what its subscriber received, live and from the retained store.
 */
class PahoPythonClientTest {

    static final String PYTHON = "/usr/bin/python3";

    static Broker broker;
    static int port;

    @BeforeAll
    static void start() {
        broker = new Broker(BrokerConfig.defaults().sysInterval(0));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("paho-python", "127.0.0.1", 0)).port();
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.stop();
        }
    }

    /** Fails (never skips) when /usr/bin/python3 cannot import paho.mqtt, saying how to get it. */
    static void requirePahoPython() throws Exception {
        String why;
        if (!new File(PYTHON).canExecute()) {
            why = PYTHON + " not found";
        } else {
            Process p = new ProcessBuilder(PYTHON, "-c", "import paho.mqtt.client").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            if (p.exitValue() == 0) {
                return;
            }
            why = PYTHON + " cannot import paho.mqtt: " + out.strip();
        }
        fail(why + ". Install the Debian package python3-paho-mqtt (./test.sh installs it)");
    }

    static String script() throws Exception {
        URL url = PahoPythonClientTest.class.getResource("/interop/paho_user_properties.py");
        if (url == null) {
            fail("interop/paho_user_properties.py is not on the test class path");
        }
        return new File(url.toURI()).getAbsolutePath();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"live", "retained"})
    void userPropertiesOnlyReachAPahoPythonSubscriber(String mode) throws Exception {
        requirePahoPython();
        String topic = "py/up/" + mode;
        List<String> command = List.of(PYTHON, script(), "127.0.0.1", String.valueOf(port), topic, mode);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed: " + out);
        assertEquals(topic + " a:2 c:3 a:2 [hi] retain=" + ("retained".equals(mode) ? 1 : 0) + "\n", out,
                "User Properties in order, the duplicate kept");
    }
}
