package io.brokkr.itests;

import io.brokkr.api.BrokerService;
import io.brokkr.api.ListenerInfo;
import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Optional;
import org.osgi.service.cm.Configuration;

/**
 * For tests that use the broker's API: brokkr-core is a boot feature (io.brokkr.api must be resolvable when the
 * test probe loads), listeners come from ConfigurationAdmin factory configurations on 127.0.0.1.
 */
public abstract class BrokerTestSupport extends BrokkrTestSupport {

    @Override
    protected String bootFeatures() {
        return BOOT_FEATURES + ",brokkr-core";
    }

    protected BrokerService broker() {
        return getOsgiService(BrokerService.class, TIMEOUT_MS);
    }

    // ------------------------------------------------------------------------------------------------ listeners

    /** Creates (or updates) the listener factory configuration {@code io.brokkr.broker.listener~<name>}. */
    protected Configuration putListener(String name, int port) throws IOException {
        Configuration c = configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, name, "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("name", name);
        props.put("type", "tcp");
        props.put("host", "127.0.0.1");
        props.put("port", Integer.toString(port));
        c.update(props);
        return c;
    }

    protected Optional<ListenerInfo> listener(String name) {
        return broker().listeners().stream().filter(l -> l.name().equals(name)).findFirst();
    }

    /** Waits until listener {@code name} is bound (to {@code port} unless it is 0) and returns its port. */
    protected int awaitBound(String name, int port) {
        await("listener " + name + " bound" + (port > 0 ? " to " + port : ""), () -> listener(name)
                .filter(l -> l.bound() && (port == 0 || l.port() == port)).isPresent());
        return listener(name).orElseThrow().port();
    }

    /**
     * Deletes listener {@code name}'s configuration and waits until the broker has closed it: the configuration
     * event comes asynchronously, and a test that opened a listener of the same name at once (the next test's
     * {@code @Before}) could find the old one still bound, take its port and then see it closed.
     */
    protected void closeListener(String name) throws IOException {
        configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, name, "?").delete();
        await("listener " + name + " closed", () -> listener(name).isEmpty());
    }

    /** Opens listener {@code name} on an ephemeral port and returns the port it got. */
    protected int openListener(String name) throws IOException {
        putListener(name, 0);
        return awaitBound(name, 0);
    }

}
