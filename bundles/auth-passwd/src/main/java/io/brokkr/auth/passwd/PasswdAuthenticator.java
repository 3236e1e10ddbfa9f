package io.brokkr.auth.passwd;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.auth.support.Registration;
import io.brokkr.auth.support.WatchedFile;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Authenticates clients against a Mosquitto password file ({@link PasswdFile}): a user in the file is allowed with
 * the right password (principal: the user name, no roles) and refused with 0x86 Bad user name or password
 * otherwise, also without a password; a user that is not in the file is left to the next authenticator
 * ({@code unknown.user = next}) or refused ({@code deny}). A CONNECT without a user name is always left to the next.
 *
 * <p>The hashes are checked on a small executor of this component, never on the network thread that asks: a
 * {@code $7$} line with 1000 iterations costs about a millisecond of CPU. The file is polled every
 * {@code reload.seconds} and re-read when its modification time, size or identity (inode, after an atomic
 * replace) changed; a file that does not parse keeps the users read before.
 *
 * <p>Configured by {@code etc/io.brokkr.auth.passwd.cfg}. The component registers itself as {@link Authenticator}
 * (and as this class, for the shell commands) by hand, so that {@code service.ranking}, a string in a .cfg file,
 * is registered as the Integer the framework and the broker order by.
 */
@Component(name = "io.brokkr.auth.passwd", configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
@Designate(ocd = PasswdAuthenticator.Config.class)
public class PasswdAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(PasswdAuthenticator.class);

    @ObjectClassDefinition(name = "Brokkr password file authenticator (Mosquitto-compatible)")
    public @interface Config {
        @AttributeDefinition(description = "Password file (mosquitto_passwd format)")
        String file() default "${karaf.etc}/brokkr.passwd";

        @AttributeDefinition(description = "Position in the authenticator chain, higher first")
        int service_ranking() default 100;

        @AttributeDefinition(description = "A user not in the file: next (next authenticator decides) or deny (0x86)")
        String unknown_user() default "next";

        @AttributeDefinition(description = "Seconds between checks of the file for changes")
        int reload_seconds() default 2;
    }

    /** What one successful read of the file gave. */
    private record Users(Map<String, PasswdFile.Entry> entries) {
    }

    private static final Users NONE = new Users(Map.of());

    private volatile boolean unknownDeny;
    private final WatchedFile<Users> watched = new WatchedFile<>(LOG, "Password file", "brokkr-passwd-reload", NONE,
            PasswdAuthenticator::read, u -> u.entries().size() + " user(s)",
            () -> "no user can log in with a password");
    private final ThreadPoolExecutor verifier;
    private Registration registration;

    public PasswdAuthenticator() {
        AtomicInteger n = new AtomicInteger();
        // two threads at most: hashing is CPU work; the queue absorbs a burst of CONNECTs
        verifier = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "brokkr-passwd-verify-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        verifier.allowCoreThreadTimeOut(true);
    }

    /** For use without OSGi (tests, an embedded engine): reads {@code file} now and then every {@code reload}. */
    public PasswdAuthenticator(Path file, boolean unknownDeny, Duration reload) {
        this();
        this.unknownDeny = unknownDeny;
        watched.watch(file, reload.toMillis());
    }

    @Activate
    void activate(BundleContext context, Config c, Map<String, Object> props) {
        configure(c);
        registration = Registration.register(context, LOG, this, props, 100, Authenticator.class.getName(),
                PasswdAuthenticator.class.getName());
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

    /** Stops the reload polling and the verification threads; pending checks complete with an error (0x88). */
    public void close() {
        watched.close();
        verifier.shutdownNow();
    }

    private void configure(Config c) {
        String mode = c.unknown_user().trim().toLowerCase();
        if (!mode.equals("next") && !mode.equals("deny")) {
            LOG.warn("unknown.user = {} is neither next nor deny: using next", c.unknown_user());
        }
        unknownDeny = mode.equals("deny");
        watched.watch(WatchedFile.resolve(c.file()), Math.max(1, c.reload_seconds()) * 1000L);
    }

    private static Users read(Path f) throws IOException, PasswdFile.ParseException {
        Map<String, PasswdFile.Entry> read = PasswdFile.read(f);
        read.forEach((user, e) -> {
            if (e instanceof PasswdFile.Unsupported u) {
                LOG.warn("Password file {}: user '{}' has a hash format that is not supported ({}): it will be "
                        + "refused", f, user, u.format());
            }
        });
        return new Users(read);
    }

    /** The password file in use. */
    public Path file() {
        return watched.file();
    }

    /** How many times the file was read successfully (for tests and the log). */
    public int loads() {
        return watched.loads();
    }

    /** Why the last read of the file failed, or null if it succeeded. */
    public String lastError() {
        return watched.lastError();
    }

    /** The users currently in force. */
    public Set<String> users() {
        return watched.current().entries().keySet();
    }

    /** Re-reads the file if its modification time, size or identity changed since it was last looked at. */
    void reloadIfChanged() {
        watched.reloadIfChanged();
    }

    /** Reads the file now (the shell commands call this after a change); keeps the old users if it fails. */
    public void reloadNow() {
        watched.reloadNow();
    }

    @Override
    public CompletionStage<AuthenticationResult> authenticate(ConnectionContext context, AuthenticationRequest request) {
        String user = context.username();
        if (user == null) {
            return CompletableFuture.completedFuture(AuthenticationResult.next());
        }
        PasswdFile.Entry entry = watched.current().entries().get(user);
        if (entry == null) {
            return CompletableFuture.completedFuture(unknownDeny
                    ? AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD, "bad user name or password")
                    : AuthenticationResult.next());
        }
        if (entry instanceof PasswdFile.Unsupported u) {
            LOG.warn("User '{}' refused: the password file has a hash format that is not supported ({})", user,
                    u.format());
            return CompletableFuture.completedFuture(denied());
        }
        byte[] password = request.password();
        if (password == null) {
            return CompletableFuture.completedFuture(denied());
        }
        try {
            return CompletableFuture.supplyAsync(() -> PasswdFile.verify(entry, password)
                    ? AuthenticationResult.allow(new BrokkrPrincipal(user, Set.of(), Map.of()))
                    : denied(), verifier);
        } catch (RejectedExecutionException closed) {
            return CompletableFuture.failedFuture(closed);
        }
    }

    private static AuthenticationResult denied() {
        return AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD, "bad user name or password");
    }
}
