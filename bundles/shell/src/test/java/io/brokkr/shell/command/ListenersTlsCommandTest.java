package io.brokkr.shell.command;

import static io.brokkr.shell.command.CommandsTest.cell;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mqtt:listeners} shows a TLS listener whose cfg is wrong as not bound, with the reason, next to a working
 * listener.
 */
class ListenersTlsCommandTest {

    Broker broker;

    @BeforeEach
    void start() {
        broker = new Broker(BrokerConfig.defaults());
        broker.start();
        broker.openListener(ListenerConfig.tcp("plain", "127.0.0.1", 0));
    }

    @AfterEach
    void stop() {
        broker.stop();
    }

    @Test
    void aTlsListenerWithAMissingCertificateIsListedWithTheReason(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("fullchain.pem");
        Path key = dir.resolve("privkey.pem");
        Files.writeString(key, "not used: the certificate is missing\n");
        broker.openListener(new ListenerConfig("secure", "tls", "127.0.0.1", 0, null,
                Map.of("cert.file", cert.toString(), "key.file", key.toString())));

        ListenersCommand listeners = new ListenersCommand();
        listeners.broker = broker;
        String out = ShellOutput.run(listeners);
        assertEquals("tls", cell(out, "secure", "Type"), out);
        assertEquals("no", cell(out, "secure", "Bound"), out);
        assertEquals("TLS: cert.file " + cert + ": no such file", cell(out, "secure", "Error"), out);
        assertEquals("yes", cell(out, "plain", "Bound"), out);
        assertEquals("-", cell(out, "plain", "Error"), out);
    }
}
