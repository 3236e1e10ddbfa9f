package io.brokkr.auth.jaas;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.auth.support.Registration;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AccountException;
import javax.security.auth.login.CredentialException;
import javax.security.auth.login.FailedLoginException;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs clients in to a JAAS realm: Karaf's {@code karaf} realm (its {@code etc/users.properties}) by default, or any
 * realm by name, such as one Karaf's JAAS modules back with LDAP or a database. The CONNECT's user name and password
 * answer the realm's name and password callbacks; a successful login allows the client with a principal whose
 * roles are the names of the subject's role principals (Karaf's {@code RolePrincipal}, the roles of the user and of
 * its groups), for authorizers to decide on.
 *
 * <p>A login can block (an LDAP server far away), so it runs on this component's own threads ({@code threads}),
 * never on a network thread. Configured by {@code etc/io.brokkr.auth.jaas.cfg}; the component registers itself by
 * hand with its cfg keys as service properties, {@code service.ranking} as an Integer.
 */
@Component(name = "io.brokkr.auth.jaas", configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
public class JaasAuthenticator implements Authenticator, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JaasAuthenticator.class);

    /**
     * @param realm       the JAAS realm (login configuration entry) name
     * @param roleClasses class names (full, or simple) of the subject's principals that are roles
     * @param failureNext a refused login lets the next authenticator decide, instead of refusing with 0x86
     */
    public record Settings(String realm, List<String> roleClasses, boolean failureNext) {

        public static Settings fromProperties(Map<String, ?> p) {
            String realm = str(p, "realm", "karaf");
            List<String> roles = Arrays.stream(str(p, "role.principal.classes", "RolePrincipal").split(","))
                    .map(String::trim).filter(s -> !s.isEmpty()).toList();
            String failure = str(p, "on.failure", "deny").toLowerCase(Locale.ROOT);
            if (!failure.equals("deny") && !failure.equals("next")) {
                throw new IllegalArgumentException("on.failure: '" + failure + "' is not deny or next");
            }
            return new Settings(realm, roles, failure.equals("next"));
        }

        private static String str(Map<String, ?> p, String key, String def) {
            Object v = p.get(key);
            return v == null || v.toString().isBlank() ? def : v.toString().trim();
        }
    }

    private final ThreadPoolExecutor executor;
    private volatile Settings settings;
    private Registration registration;

    public JaasAuthenticator() {
        AtomicInteger n = new AtomicInteger();
        executor = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "brokkr-auth-jaas-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
    }

    /** For use without OSGi (tests, an embedded engine). */
    public JaasAuthenticator(Settings settings) {
        this();
        this.settings = settings;
    }

    @Activate
    void activate(BundleContext context, Map<String, Object> props) {
        configure(props);
        registration = Registration.register(context, LOG, this, props, 100, Authenticator.class.getName());
    }

    @Modified
    void modified(Map<String, Object> props) {
        configure(props);
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

    private void configure(Map<String, Object> props) {
        try {
            settings = Settings.fromProperties(props);
            LOG.info("JAAS authenticator: realm {}, roles from {}", settings.realm(), settings.roleClasses());
        } catch (IllegalArgumentException e) {
            if (settings == null) {
                settings = new Settings(Settings.str(props, "realm", "karaf"), List.of("RolePrincipal"), false);
            }
            LOG.error("JAAS authenticator configuration: {}; on.failure stays {}", e.getMessage(),
                    settings.failureNext() ? "next" : "deny");
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    @Override
    public CompletionStage<AuthenticationResult> authenticate(ConnectionContext context,
                                                              AuthenticationRequest request) {
        String user = context.username();
        if (user == null) {
            return CompletableFuture.completedFuture(AuthenticationResult.next());
        }
        Settings s = settings;
        try {
            return CompletableFuture.supplyAsync(() -> login(s, user, request.password()), executor);
        } catch (RejectedExecutionException stopped) {
            return CompletableFuture.failedFuture(stopped);
        }
    }

    /** One login, on a thread of this component. */
    AuthenticationResult login(Settings s, String user, byte[] password) {
        char[] pw = password == null ? new char[0] : decode(password);
        Subject subject = new Subject();
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        // the login modules of a realm are found through the framework's JAAS configuration, which some look up
        // from the context class loader
        t.setContextClassLoader(JaasAuthenticator.class.getClassLoader());
        try {
            LoginContext lc = new LoginContext(s.realm(), subject, callbacks -> {
                for (Callback c : callbacks) {
                    if (c instanceof NameCallback n) {
                        n.setName(user);
                    } else if (c instanceof PasswordCallback p) {
                        p.setPassword(pw);
                    } else {
                        throw new UnsupportedCallbackException(c, "only name and password are known");
                    }
                }
            });
            lc.login();
            Set<String> roles = new LinkedHashSet<>();
            for (Principal p : subject.getPrincipals()) {
                if (isRole(s, p)) {
                    roles.add(p.getName());
                }
            }
            try {
                lc.logout();
            } catch (LoginException e) {
                LOG.debug("JAAS logout of {} failed", user, e);
            }
            return AuthenticationResult.allow(new BrokkrPrincipal(user, roles, Map.of()));
        } catch (FailedLoginException | AccountException | CredentialException e) {
            return s.failureNext() ? AuthenticationResult.next()
                    : AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD,
                    "bad user name or password");
        } catch (LoginException | SecurityException e) {
            // no such realm, a module that cannot reach its directory: not the client's fault
            LOG.warn("JAAS realm {}: login of {} failed: {}", s.realm(), user, e.toString());
            return AuthenticationResult.deny(AuthenticationResult.SERVER_UNAVAILABLE,
                    "authentication realm unavailable");
        } finally {
            t.setContextClassLoader(before);
            Arrays.fill(pw, '\0');
        }
    }

    private static boolean isRole(Settings s, Principal p) {
        String full = p.getClass().getName();
        String simple = p.getClass().getSimpleName();
        for (String c : s.roleClasses()) {
            if (c.equals(full) || c.equals(simple)) {
                return true;
            }
        }
        return false;
    }

    private static char[] decode(byte[] password) {
        CharBuffer cb = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(password));
        char[] out = new char[cb.remaining()];
        cb.get(out);
        return out;
    }
}
