package io.brokkr.auth.acl;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authorizes publishes (and wills) and subscriptions with a Mosquitto ACL file ({@link AclFile}), by the user name
 * and client id of the CONNECT. What the file grants is allowed, what a {@code deny} line concerns is denied, and
 * what it does neither is denied as in Mosquitto ({@code unmatched = deny}) or left to the next authorizer
 * ({@code unmatched = next}). A SUBSCRIBE is allowed only if a read grant covers its whole filter.
 *
 * <p>The file is polled every {@code reload.seconds} and re-read when its modification time, size or identity (inode,
 * after an atomic replace) changed; a file that does not parse keeps the rules read before (the line and the reason
 * are logged). Until a file was read, nothing is granted. Decisions are made on the calling network thread from the
 * rules in memory; they do not block.
 *
 * <p>Configured by {@code etc/io.brokkr.auth.acl.cfg}. The component registers itself as {@link Authorizer} by hand,
 * so that {@code service.ranking}, a string in a .cfg file, is registered as the Integer the broker orders by.
 */
@Component(name = "io.brokkr.auth.acl", configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
@Designate(ocd = AclAuthorizer.Config.class)
public class AclAuthorizer implements Authorizer {

    private static final Logger LOG = LoggerFactory.getLogger(AclAuthorizer.class);

    @ObjectClassDefinition(name = "Brokkr ACL file authorizer (Mosquitto-compatible)")
    public @interface Config {
        @AttributeDefinition(description = "ACL file (Mosquitto acl_file format)")
        String file() default "${karaf.etc}/brokkr.acl";

        @AttributeDefinition(description = "Position in the authorizer chain, higher first")
        int service_ranking() default 100;

        @AttributeDefinition(description = "What the file does not grant: deny (as Mosquitto) or next (next authorizer)")
        String unmatched() default "deny";

        @AttributeDefinition(description = "Seconds between checks of the file for changes")
        int reload_seconds() default 2;
    }

    private volatile Path file;
    private volatile boolean unmatchedNext;
    private volatile AclFile acl = AclFile.empty();
    /** The state of the file last looked at (read well or not), to notice the next change. */
    private volatile Object seenKey;
    private volatile long seenMtime = Long.MIN_VALUE;
    private volatile long seenSize = -1;
    private volatile String lastError;
    private final AtomicInteger loads = new AtomicInteger();

    private final ScheduledExecutorService poller;
    private ServiceRegistration<?> registration;
    private ScheduledFuture<?> reloadTask;

    public AclAuthorizer() {
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "brokkr-acl-reload");
            t.setDaemon(true);
            return t;
        });
    }

    /** For use without OSGi (tests, an embedded engine): reads {@code file} now and then every {@code reload}. */
    public AclAuthorizer(Path file, boolean unmatchedNext, Duration reload) {
        this();
        this.file = file;
        this.unmatchedNext = unmatchedNext;
        reloadNow();
        schedule(reload.toMillis());
    }

    @Activate
    void activate(BundleContext context, Config c) {
        configure(c);
        registration = context.registerService(new String[] {Authorizer.class.getName(), AclAuthorizer.class.getName()},
                this, properties(c));
    }

    @Modified
    void modified(Config c) {
        configure(c);
        registration.setProperties(properties(c));
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
            registration = null;
        }
        close();
    }

    /** Stops the reload polling. */
    public void close() {
        poller.shutdownNow();
    }

    private static Dictionary<String, Object> properties(Config c) {
        Dictionary<String, Object> p = new Hashtable<>();
        p.put(Constants.SERVICE_RANKING, c.service_ranking());
        p.put(Constants.SERVICE_PID, "io.brokkr.auth.acl");
        return p;
    }

    private void configure(Config c) {
        String f = c.file().trim();
        String etc = System.getProperty("karaf.etc");
        if (f.contains("${karaf.etc}")) {
            f = f.replace("${karaf.etc}", etc != null ? etc : "etc");
        }
        String mode = c.unmatched().trim().toLowerCase();
        if (!mode.equals("next") && !mode.equals("deny")) {
            LOG.warn("unmatched = {} is neither deny nor next: using deny", c.unmatched());
        }
        unmatchedNext = mode.equals("next");
        Path newFile = Paths.get(f);
        if (!newFile.equals(file)) {
            file = newFile;
            acl = AclFile.empty();
            seenKey = null;
            seenMtime = Long.MIN_VALUE;
            seenSize = -1;
        }
        reloadNow();
        schedule(Math.max(1, c.reload_seconds()) * 1000L);
    }

    private synchronized void schedule(long millis) {
        if (reloadTask != null) {
            reloadTask.cancel(false); // the one of the previous configuration
        }
        reloadTask = poller.scheduleWithFixedDelay(this::reloadIfChanged, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** The ACL file in use. */
    public Path file() {
        return file;
    }

    /** The rules in force. */
    public AclFile acl() {
        return acl;
    }

    /** How many times the file was read successfully (for tests and the log). */
    public int loads() {
        return loads.get();
    }

    /** Why the last read of the file failed, or null if it succeeded. */
    public String lastError() {
        return lastError;
    }

    /** Re-reads the file if its modification time, size or identity changed since it was last looked at. */
    void reloadIfChanged() {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            if (a.lastModifiedTime().toMillis() == seenMtime && a.size() == seenSize
                    && Objects.equals(a.fileKey(), seenKey)) {
                return;
            }
        } catch (NoSuchFileException e) {
            if (seenSize == -2) {
                return; // already reported
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("ACL file {}: {}", file, e.toString());
            return;
        }
        reloadNow();
    }

    /** Reads the file now; keeps the rules in force if it fails. */
    public synchronized void reloadNow() {
        Path f = file;
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            seenKey = a.fileKey();
            seenMtime = a.lastModifiedTime().toMillis();
            seenSize = a.size();
            AclFile read = AclFile.read(f);
            acl = read;
            lastError = null;
            loads.incrementAndGet();
            LOG.info("ACL file {}: {} line(s) in force, {} user section(s), {} pattern(s)", f, read.size(),
                    read.users.size(), read.patterns.size());
        } catch (NoSuchFileException e) {
            seenSize = -2;
            lastError = "no such file";
            LOG.warn("ACL file {} does not exist: {}", f, loads.get() == 0
                    ? "nothing is granted" : "the rules read before stay in force");
        } catch (AclFile.ParseException e) {
            lastError = e.getMessage();
            LOG.error("ACL file {} not loaded, {}; the {} line(s) read before stay in force", f, e.getMessage(),
                    acl.size());
        } catch (IOException | RuntimeException e) {
            lastError = e.toString();
            LOG.error("ACL file {} could not be read: {}; the {} line(s) read before stay in force", f, e.toString(),
                    acl.size());
        }
    }

    private Decision decision(AclFile.Verdict v) {
        return switch (v) {
            case GRANTED -> Decision.ALLOW;
            case DENIED -> Decision.DENY;
            case UNMATCHED -> unmatchedNext ? Decision.NEXT : Decision.DENY;
        };
    }

    /** Whether {@code unmatched = next}: what the file does not grant is left to the next authorizer. */
    public boolean unmatchedNext() {
        return unmatchedNext;
    }

    /** The decision on a PUBLISH (or will) of a client with this user name (null: none) and client id. */
    public Decision decidePublish(String user, String clientId, String topic) {
        return decision(acl.publish(user, clientId, topic));
    }

    /** The decision on a SUBSCRIBE of a client with this user name (null: none) and client id. */
    public Decision decideSubscribe(String user, String clientId, String filter) {
        return decision(acl.subscribe(user, clientId, filter));
    }

    @Override
    public Decision authorizePublish(ConnectionContext context, String topic, int qos, boolean retain) {
        return decidePublish(context.username(), context.clientId(), topic);
    }

    @Override
    public Decision authorizeSubscribe(ConnectionContext context, String topicFilter, int qos) {
        return decideSubscribe(context.username(), context.clientId(), topicFilter);
    }
}
