package io.brokkr.auth.support;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.slf4j.Logger;

/**
 * A provider registered by hand rather than by Declarative Services, with the public keys of its configuration as
 * service properties (so that a listener's {@code auth.filter} can select it by any of them) and
 * {@code service.ranking}, a string in a {@code .cfg} file, as the Integer the broker orders its chains by. Both
 * follow the cfg when it changes.
 */
public final class Registration {

    private final Logger log;
    private final int defaultRanking;
    private volatile ServiceRegistration<?> registration;

    private Registration(Logger log, int defaultRanking) {
        this.log = log;
        this.defaultRanking = defaultRanking;
    }

    /**
     * Registers {@code service} under {@code interfaces}.
     *
     * @param cfg            the component's configuration properties
     * @param defaultRanking the ranking when the cfg has none (or not a number)
     */
    public static Registration register(BundleContext context, Logger log, Object service, Map<String, ?> cfg,
                                        int defaultRanking, String... interfaces) {
        Registration r = new Registration(log, defaultRanking);
        r.registration = context.registerService(interfaces, service, r.properties(cfg));
        return r;
    }

    /** The service properties of a configuration: its public keys, {@code service.ranking} as an Integer. */
    Dictionary<String, Object> properties(Map<String, ?> cfg) {
        Dictionary<String, Object> d = new Hashtable<>();
        cfg.forEach((k, v) -> {
            if (!k.startsWith(".") && !k.startsWith("component.")) {
                d.put(k, v);
            }
        });
        int ranking = defaultRanking;
        Object r = cfg.get(Constants.SERVICE_RANKING);
        if (r != null) {
            try {
                ranking = Integer.parseInt(r.toString().trim());
            } catch (NumberFormatException e) {
                log.warn("service.ranking = {} is not a number: using {}", r, defaultRanking);
            }
        }
        d.put(Constants.SERVICE_RANKING, ranking);
        return d;
    }

    /** The configuration changed. */
    public void update(Map<String, ?> cfg) {
        ServiceRegistration<?> reg = registration;
        if (reg != null) {
            reg.setProperties(properties(cfg));
        }
    }

    /** Unregisters; nothing if that happened already (the bundle is stopping). */
    public void unregister() {
        ServiceRegistration<?> reg = registration;
        registration = null;
        if (reg != null) {
            try {
                reg.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
        }
    }
}
