package io.brokkr.auth.acl;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.auth.support.Registration;
import io.brokkr.auth.support.WatchedFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.osgi.framework.BundleContext;
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

    private volatile boolean unmatchedNext;
    private final WatchedFile<AclFile> watched = new WatchedFile<>(LOG, "ACL file", "brokkr-acl-reload",
            AclFile.empty(), AclFile::read, a -> a.size() + " line(s) (" + a.users.size() + " user section(s), "
            + a.patterns.size() + " pattern(s))", () -> "nothing is granted");
    private Registration registration;

    public AclAuthorizer() {
    }

    /** For use without OSGi (tests, an embedded engine): reads {@code file} now and then every {@code reload}. */
    public AclAuthorizer(Path file, boolean unmatchedNext, Duration reload) {
        this.unmatchedNext = unmatchedNext;
        watched.watch(file, reload.toMillis());
    }

    @Activate
    void activate(BundleContext context, Config c, Map<String, Object> props) {
        configure(c);
        registration = Registration.register(context, LOG, this, props, 100, Authorizer.class.getName(),
                AclAuthorizer.class.getName());
    }

    @Modified
    void modified(Config c, Map<String, Object> props) {
        configure(c);
        registration.update(props);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
        close();
    }

    /** Stops the reload polling. */
    public void close() {
        watched.close();
    }

    private void configure(Config c) {
        String mode = c.unmatched().trim().toLowerCase();
        if (!mode.equals("next") && !mode.equals("deny")) {
            LOG.warn("unmatched = {} is neither deny nor next: using deny", c.unmatched());
        }
        unmatchedNext = mode.equals("next");
        watched.watch(WatchedFile.resolve(c.file()), Math.max(1, c.reload_seconds()) * 1000L);
    }

    /** The ACL file in use. */
    public Path file() {
        return watched.file();
    }

    /** The rules in force. */
    public AclFile acl() {
        return watched.current();
    }

    /** How many times the file was read successfully (for tests and the log). */
    public int loads() {
        return watched.loads();
    }

    /** Why the last read of the file failed, or null if it succeeded. */
    public String lastError() {
        return watched.lastError();
    }

    /** Re-reads the file if its modification time, size or identity changed since it was last looked at. */
    void reloadIfChanged() {
        watched.reloadIfChanged();
    }

    /** Reads the file now; keeps the rules in force if it fails. */
    public void reloadNow() {
        watched.reloadNow();
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
        return decision(watched.current().publish(user, clientId, topic));
    }

    /** The decision on a SUBSCRIBE of a client with this user name (null: none) and client id. */
    public Decision decideSubscribe(String user, String clientId, String filter) {
        return decision(watched.current().subscribe(user, clientId, filter));
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
