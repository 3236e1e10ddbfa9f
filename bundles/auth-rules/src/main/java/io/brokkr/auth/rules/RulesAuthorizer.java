package io.brokkr.auth.rules;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.auth.support.Registration;
import io.brokkr.auth.support.WatchedFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
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
 * Authorizes publishes and subscriptions by the rules of a rules file ({@link RuleParser}, grammar in README.md):
 * the rules are asked in ascending priority number (equal priorities in file order); the first rule that applies
 * (its action and topic match) and decides (its condition holds: THEN; or does not and it has an ELSE) gives the
 * answer. When no rule decides, the answer is {@code no.match}: {@code next} (the next authorizer, by ranking,
 * decides; with none the action is allowed), {@code deny} or {@code allow}.
 *
 * <p>Deciding reads an immutable {@link RuleSet} from a volatile field and walks compiled rules: no lock, no I/O,
 * no regular expression compiled, nothing allocated per call, as suits the network threads that call it. The file
 * is polled every {@code reload.seconds} and re-read when its modification time, size or identity (inode, after an
 * atomic replace) changed; a file that does not parse keeps the rules in force and the log says where and why.
 *
 * <p>Configured by {@code etc/io.brokkr.auth.rules.cfg}. The component registers itself as {@link Authorizer} (and
 * as this class, for the shell commands) by hand, so that {@code service.ranking}, a string in a .cfg file, is
 * registered as the Integer the framework and the broker order by.
 */
@Component(name = "io.brokkr.auth.rules", configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
@Designate(ocd = RulesAuthorizer.Config.class)
public class RulesAuthorizer implements Authorizer {

    private static final Logger LOG = LoggerFactory.getLogger(RulesAuthorizer.class);

    @ObjectClassDefinition(name = "Brokkr rules authorizer")
    public @interface Config {
        @AttributeDefinition(description = "Rules file (DEFINE RULE ... lines)")
        String file() default "${karaf.etc}/brokkr.rules";

        @AttributeDefinition(description = "Position in the authorizer chain, higher first")
        int service_ranking() default 100;

        @AttributeDefinition(description = "When no rule decides: next (the next authorizer decides), deny or allow")
        String no_match() default "next";

        @AttributeDefinition(description = "Seconds between checks of the file for changes")
        int reload_seconds() default 2;
    }

    private volatile Decision noMatch = Decision.NEXT;
    private final WatchedFile<RuleSet> watched = new WatchedFile<>(LOG, "Rules file", "brokkr-rules-reload",
            RuleSet.EMPTY, f -> new RuleSet(RuleParser.parse(Files.readString(f, StandardCharsets.UTF_8))),
            r -> r.size() + " rule(s)", () -> "no rules, every action gets no.match (" + noMatch + ")");
    private Registration registration;

    public RulesAuthorizer() {
    }

    /** For use without OSGi (tests, an embedded engine): reads {@code file} now and then every {@code reload}. */
    public RulesAuthorizer(Path file, Decision noMatch, Duration reload) {
        this.noMatch = noMatch;
        watched.watch(file, reload.toMillis());
    }

    @Activate
    void activate(BundleContext context, Config c, Map<String, Object> props) {
        configure(c);
        registration = Registration.register(context, LOG, this, props, 100, Authorizer.class.getName(),
                RulesAuthorizer.class.getName());
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

    /** {@code next}, {@code deny} or {@code allow}; anything else is {@code next}, with a warning. */
    static Decision noMatch(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "deny":
                return Decision.DENY;
            case "allow":
                return Decision.ALLOW;
            case "next":
                return Decision.NEXT;
            default:
                LOG.warn("no.match = {} is not next, deny or allow: using next", value);
                return Decision.NEXT;
        }
    }

    private void configure(Config c) {
        noMatch = noMatch(c.no_match());
        watched.watch(WatchedFile.resolve(c.file()), Math.max(1, c.reload_seconds()) * 1000L);
    }

    /** The rules file in use. */
    public Path file() {
        return watched.file();
    }

    /** The rules in force. */
    public RuleSet rules() {
        return watched.current();
    }

    /** What is answered when no rule decides. */
    public Decision noMatch() {
        return noMatch;
    }

    /** How many times the file was read successfully (for tests and the log). */
    public int loads() {
        return watched.loads();
    }

    /** Why the last read of the file failed ({@code line L column C: reason}), or null if it succeeded. */
    public String lastError() {
        return watched.lastError();
    }

    /** Re-reads the file if its modification time, size or identity changed since it was last looked at. */
    void reloadIfChanged() {
        watched.reloadIfChanged();
    }

    /** Reads the file now (the shell commands call this after a change); keeps the rules in force if it fails. */
    public void reloadNow() {
        watched.reloadNow();
    }

    @Override
    public Decision authorizePublish(ConnectionContext context, String topic, int qos, boolean retain) {
        Decision d = watched.current().publish(context, topic);
        return d != null ? d : noMatch;
    }

    @Override
    public Decision authorizeSubscribe(ConnectionContext context, String topicFilter, int qos) {
        Decision d = watched.current().subscribe(context, topicFilter);
        return d != null ? d : noMatch;
    }

    @Override
    public String toString() {
        return "RulesAuthorizer[" + watched.file() + "]";
    }
}
