package io.brokkr.broker.osgi;

import io.brokkr.api.BrokerService;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One network listener per factory configuration {@code etc/io.brokkr.broker.listener-<name>.cfg}. Creating the
 * file opens the listener, changing it rebinds (open connections stay), deleting it closes the listener and its
 * connections. Keys: {@code type} (tcp, tls, ws, wss), {@code host}, {@code port} (by type: 1883, 8883, 8083, 8084),
 * optional {@code name}, the keys of the type ({@code cert.file}, {@code key.file}, ... of a TLS listener: see
 * {@link io.brokkr.broker.transport.TlsSupport}; {@code path} of a WebSocket listener) and the per-listener keys of
 * {@code ListenerOptions} (proxy.protocol, allow.anonymous, max.connections, auth.filter). A listener that cannot be
 * opened (port in use, a TLS file missing or not matching) stays registered with the engine, unbound, with the
 * reason in {@code mqtt:listeners} and the log; a changed cfg file tries again.
 */
@Component(name = "io.brokkr.broker.listener", configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = ListenerComponent.class, immediate = true)
public class ListenerComponent {

    private static final Logger LOG = LoggerFactory.getLogger(ListenerComponent.class);

    // the listener drives the engine of this bundle's BrokerComponent (cast below), never another BrokerService
    @Reference(target = "(component.name=io.brokkr.broker)")
    private BrokerService brokerService;

    private Broker broker;
    private String name;

    @Activate
    void activate(Map<String, Object> props) {
        broker = ((BrokerComponent) brokerService).broker();
        ListenerConfig cfg = parse(props);
        if (cfg == null) {
            // listed unbound with the reason (mqtt:listeners) until the file is fixed
            name = nameOf(props);
            broker.openInvalidListener(name, String.valueOf(props.getOrDefault("type", "tcp")), lastError);
            return;
        }
        name = cfg.name();
        try {
            broker.openListener(cfg);
        } catch (RuntimeException e) {
            LOG.error("Listener {} not opened: {}", name, e.getMessage());
            name = null;
        }
    }

    @Modified
    void modified(Map<String, Object> props) {
        ListenerConfig cfg = parse(props);
        if (cfg == null) {
            io.brokkr.broker.transport.Listener running = name == null ? null : broker.listener(name);
            if (running == null || !running.info().bound()) {
                if (running == null) {
                    name = nameOf(props);
                }
                broker.openInvalidListener(name, String.valueOf(props.getOrDefault("type", "tcp")), lastError);
            } // else: a running listener keeps its configuration (logged by parse)
            return;
        }
        if (name != null && !name.equals(cfg.name())) {
            broker.closeListener(name);
        }
        name = cfg.name();
        try {
            broker.updateListener(cfg);
        } catch (RuntimeException e) {
            LOG.error("Listener {} not updated: {}", name, e.getMessage());
        }
    }

    @Deactivate
    void deactivate() {
        if (name != null) {
            broker.closeListener(name);
        }
    }

    /** Why the last cfg did not parse. */
    private String lastError;

    /** The listener's name: its "name" key, else the <name> of its file or PID. */
    private static String nameOf(Map<String, Object> props) {
        Object n = props.get("name");
        return n != null && !n.toString().isBlank() ? n.toString().trim() : fallbackName(props);
    }

    private static String fallbackName(Map<String, Object> props) {
        String pid = String.valueOf(props.getOrDefault("service.pid", "listener"));
        Object fileName = props.get("felix.fileinstall.filename");
        String fallback = pid;
        if (fileName != null) {
            String f = fileName.toString();
            int dash = f.lastIndexOf("io.brokkr.broker.listener-");
            if (dash >= 0) {
                fallback = f.substring(dash + "io.brokkr.broker.listener-".length()).replaceFirst("\\.cfg$", "");
            }
        } else if (pid.contains("~")) {
            fallback = pid.substring(pid.indexOf('~') + 1);
        }
        return fallback;
    }

    private ListenerConfig parse(Map<String, Object> props) {
        String pid = String.valueOf(props.getOrDefault("service.pid", "listener"));
        Object fileName = props.get("felix.fileinstall.filename");
        String fallback = fallbackName(props);
        try {
            return ListenerConfig.fromProperties(props, fallback);
        } catch (IllegalArgumentException e) {
            LOG.error("Listener configuration {}: {}; listener not opened", fileName != null ? fileName : pid,
                    e.getMessage());
            lastError = e.getMessage();
            return null;
        }
    }
}
