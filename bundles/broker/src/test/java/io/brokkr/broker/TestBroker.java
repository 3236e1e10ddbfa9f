package io.brokkr.broker;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import java.util.Map;

/**
 * Starts a broker for a test with one TCP listener on 127.0.0.1, ephemeral port (the same start-up for every test
 * class that runs its own broker). Public so that tests in sub-packages share it.
 */
public final class TestBroker {

    /** Name of the test listener. */
    public static final String LISTENER = "test";

    private TestBroker() {
    }

    /** Starts a broker with the given configuration keys (as in etc/io.brokkr.broker.cfg); see {@link #port}. */
    public static Broker start(Map<String, String> config) {
        return start(BrokerConfig.fromProperties(config));
    }

    public static Broker start(BrokerConfig config) {
        Broker broker = new Broker(config);
        broker.start();
        broker.openListener(ListenerConfig.tcp(LISTENER, "127.0.0.1", 0));
        return broker;
    }

    /** The port of the broker's test listener. */
    public static int port(Broker broker) {
        return broker.listeners().stream().filter(l -> l.name().equals(LISTENER)).findFirst().orElseThrow().port();
    }
}
