package io.brokkr.auth.rules;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Locale;
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

    private volatile Path file;
    private volatile Decision noMatch = Decision.NEXT;
    private volatile RuleSet rules = RuleSet.EMPTY;
    /** The state of the file last looked at (read well or not), to notice the next change. */
    private volatile Object seenKey;
    private volatile long seenMtime = Long.MIN_VALUE;
    private volatile long seenSize = -1;
    private volatile String lastError;
    private final AtomicInteger loads = new AtomicInteger();

    private final ScheduledExecutorService poller;
    private ServiceRegistration<?> registration;
    private ScheduledFuture<?> reloadTask;

    public RulesAuthorizer() {
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "brokkr-rules-reload");
            t.setDaemon(true);
            return t;
        });
    }

    /** For use without OSGi (tests, an embedded engine): reads {@code file} now and then every {@code reload}. */
    public RulesAuthorizer(Path file, Decision noMatch, Duration reload) {
        this();
        this.file = file;
        this.noMatch = noMatch;
        reloadNow();
        schedule(reload.toMillis());
    }

    @Activate
    void activate(BundleContext context, Config c) {
        configure(c);
        registration = context.registerService(
                new String[] {Authorizer.class.getName(), RulesAuthorizer.class.getName()}, this, properties(c));
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
        p.put(Constants.SERVICE_PID, "io.brokkr.auth.rules");
        return p;
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
        String f = c.file().trim();
        String etc = System.getProperty("karaf.etc");
        if (f.contains("${karaf.etc}")) {
            f = f.replace("${karaf.etc}", etc != null ? etc : "etc");
        }
        noMatch = noMatch(c.no_match());
        Path newFile = Paths.get(f);
        if (!newFile.equals(file)) {
            file = newFile;
            rules = RuleSet.EMPTY;
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

    /** The rules file in use. */
    public Path file() {
        return file;
    }

    /** The rules in force. */
    public RuleSet rules() {
        return rules;
    }

    /** What is answered when no rule decides. */
    public Decision noMatch() {
        return noMatch;
    }

    /** How many times the file was read successfully (for tests and the log). */
    public int loads() {
        return loads.get();
    }

    /** Why the last read of the file failed ({@code line L column C: reason}), or null if it succeeded. */
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
            LOG.warn("Rules file {}: {}", file, e.toString());
            return;
        }
        reloadNow();
    }

    /** Reads the file now (the shell commands call this after a change); keeps the rules in force if it fails. */
    public synchronized void reloadNow() {
        Path f = file;
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            seenKey = a.fileKey();
            seenMtime = a.lastModifiedTime().toMillis();
            seenSize = a.size();
            RuleSet read = new RuleSet(RuleParser.parse(Files.readString(f, StandardCharsets.UTF_8)));
            rules = read;
            lastError = null;
            loads.incrementAndGet();
            LOG.info("Rules file {}: {} rule(s)", f, read.size());
        } catch (NoSuchFileException e) {
            seenSize = -2;
            lastError = "no such file";
            LOG.warn("Rules file {} does not exist: {}", f, rules == RuleSet.EMPTY
                    ? "no rules, every action gets no.match (" + noMatch + ")" : "the rules read before stay in force");
        } catch (RuleParseException e) {
            lastError = e.getMessage();
            LOG.error("Rules file {} not loaded, {}; the {} rule(s) read before stay in force", f, e.getMessage(),
                    rules.size());
        } catch (IOException | RuntimeException e) {
            lastError = e.toString();
            LOG.error("Rules file {} could not be read: {}; the {} rule(s) read before stay in force", f,
                    e.toString(), rules.size());
        }
    }

    @Override
    public Decision authorizePublish(ConnectionContext context, String topic, int qos, boolean retain) {
        Decision d = rules.publish(context, topic);
        return d != null ? d : noMatch;
    }

    @Override
    public Decision authorizeSubscribe(ConnectionContext context, String topicFilter, int qos) {
        Decision d = rules.subscribe(context, topicFilter);
        return d != null ? d : noMatch;
    }

    @Override
    public String toString() {
        return "RulesAuthorizer[" + file + "]";
    }
}
