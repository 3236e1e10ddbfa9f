package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ListenerInfo;
import io.brokkr.broker.config.ListenerConfig;
import java.util.Map;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * A listener whose cfg cannot be used (a per-listener key that is not valid, a key the cfg file could not be read
 * with) is listed unbound with the reason, the other listeners keep running, and a fixed cfg binds it.
 */
class ListenerErrorsTest extends BrokerTestBase {

    private ListenerInfo info(String name) {
        return broker.listeners().stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow();
    }

    private void connects(int port) throws Exception {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, id("c"), new MemoryPersistence());
        c.connect();
        c.disconnect();
        c.close();
    }

    @Test
    void aBadPerListenerKeyIsListedWithTheReasonUntilFixed() throws Exception {
        broker.openListener(new ListenerConfig("bad-keys", "tcp", "127.0.0.1", 0, null,
                Map.of("max.connections", "many")));
        ListenerInfo i = info("bad-keys");
        assertFalse(i.bound());
        assertTrue(i.error().contains("max.connections"), i.error());
        connects(port); // the class's own listener is unaffected

        broker.updateListener(new ListenerConfig("bad-keys", "tcp", "127.0.0.1", 0, null,
                Map.of("max.connections", "10")));
        i = info("bad-keys");
        assertTrue(i.bound(), String.valueOf(i.error()));
        assertEquals(null, i.error());
        connects(i.port());

        // a bad change to a running listener: it keeps working with its keys, and says why the change waits
        try {
            broker.updateListener(new ListenerConfig("bad-keys", "tcp", "127.0.0.1", 0, null,
                    Map.of("max.connections", "-3")));
        } catch (IllegalArgumentException expected) {
            // also logged
        }
        i = info("bad-keys");
        assertTrue(i.bound());
        assertTrue(i.error().startsWith("cfg change not applied: ") && i.error().contains("max.connections"),
                i.error());
        connects(i.port());
        broker.closeListener("bad-keys");
    }

    @Test
    void aCfgFileThatDoesNotParseIsListedUntilFixed() throws Exception {
        broker.openInvalidListener("broken", "tcp", "port: 'abc' is not a number");
        ListenerInfo i = info("broken");
        assertFalse(i.bound());
        assertEquals("port: 'abc' is not a number", i.error());
        broker.updateListener(ListenerConfig.tcp("broken", "127.0.0.1", 0));
        i = info("broken");
        assertTrue(i.bound(), String.valueOf(i.error()));
        connects(i.port());
        broker.closeListener("broken");
    }
}
