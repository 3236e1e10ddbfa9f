package io.brokkr.auth.x509;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.auth.support.Registration;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates a client by the certificate it presented in the TLS handshake of a {@code type = tls} (or wss)
 * listener with {@code client.auth = want} or {@code need}: the listener has already verified the chain against its
 * {@code ca.file}, so a certificate is proof enough, as with Mosquitto's {@code require_certificate} and
 * {@code use_identity_as_username}. The principal's name is the certificate's CN, first DNS/e-mail/URI SAN, or whole
 * subject ({@code identity}); its roles come from the subject's OU values ({@code roles.from = ou}) and/or from
 * {@code role.<identity> = r1,r2} keys. A client without a certificate is left to the next authenticator.
 *
 * <p>With {@code username.must.match = true}, a CONNECT carrying a user name other than the certificate's identity
 * is refused (0x86), so a device cannot claim another's name.
 */
@Component(name = "io.brokkr.auth.x509", configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
public class X509Authenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(X509Authenticator.class);

    /** Where the principal's name comes from. */
    public enum Identity { CN, SAN, DN }

    /**
     * @param identity          CN, SAN or DN
     * @param rolesFromOu       the subject's OU values become roles
     * @param roles             roles per identity ({@code role.<identity>} keys)
     * @param usernameMustMatch refuse a CONNECT user name other than the identity
     */
    public record Settings(Identity identity, boolean rolesFromOu, Map<String, Set<String>> roles,
                           boolean usernameMustMatch) {

        public static Settings fromProperties(Map<String, ?> p) {
            List<String> errors = new ArrayList<>();
            Identity identity = Identity.CN;
            String id = str(p, "identity", "cn");
            try {
                identity = Identity.valueOf(id.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                errors.add("identity: '" + id + "' is not cn, san or dn");
            }
            String from = str(p, "roles.from", "none").toLowerCase(Locale.ROOT);
            if (!from.equals("none") && !from.equals("ou")) {
                errors.add("roles.from: '" + from + "' is not none or ou");
            }
            String match = str(p, "username.must.match", "false").toLowerCase(Locale.ROOT);
            if (!match.equals("true") && !match.equals("false")) {
                errors.add("username.must.match: '" + match + "' is not true or false");
            }
            Map<String, Set<String>> roles = new HashMap<>();
            p.forEach((k, v) -> {
                if (k.startsWith("role.") && k.length() > 5 && v != null) {
                    Set<String> r = new LinkedHashSet<>();
                    Arrays.stream(v.toString().split(",")).map(String::trim).filter(s -> !s.isEmpty())
                            .forEach(r::add);
                    roles.put(k.substring(5), Set.copyOf(r));
                }
            });
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException(String.join("; ", errors));
            }
            return new Settings(identity, from.equals("ou"), Map.copyOf(roles), match.equals("true"));
        }

        private static String str(Map<String, ?> p, String key, String def) {
            Object v = p.get(key);
            return v == null || v.toString().isBlank() ? def : v.toString().trim();
        }
    }

    private volatile Settings settings;
    private Registration registration;

    public X509Authenticator() {
    }

    /** For use without OSGi (tests, an embedded engine). */
    public X509Authenticator(Settings settings) {
        this.settings = settings;
    }

    @Activate
    void activate(BundleContext context, Map<String, Object> props) {
        configure(props);
        registration = Registration.register(context, LOG, this, props, 200, Authenticator.class.getName());
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
    }

    private void configure(Map<String, Object> props) {
        try {
            settings = Settings.fromProperties(props);
            LOG.info("X.509 authenticator: identity {}, roles from {}, {} mapped identities",
                    settings.identity(), settings.rolesFromOu() ? "OU" : "the cfg", settings.roles().size());
        } catch (IllegalArgumentException e) {
            LOG.error("X.509 authenticator configuration: {}; {}", e.getMessage(), settings == null
                    ? "no client is accepted by certificate until it is fixed" : "the previous one stays in force");
        }
    }

    @Override
    public CompletionStage<AuthenticationResult> authenticate(ConnectionContext context,
                                                              AuthenticationRequest request) {
        return CompletableFuture.completedFuture(decide(settings, context));
    }

    static AuthenticationResult decide(Settings s, ConnectionContext context) {
        List<X509Certificate> chain = context.peerCertificates();
        if (s == null || chain == null || chain.isEmpty()) {
            return AuthenticationResult.next();
        }
        X509Certificate cert = chain.get(0);
        String identity = identity(s.identity(), cert);
        if (identity == null) {
            return AuthenticationResult.deny(AuthenticationResult.NOT_AUTHORIZED,
                    "the client certificate has no " + s.identity().name());
        }
        String user = context.username();
        if (s.usernameMustMatch() && user != null && !user.equals(identity)) {
            return AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD,
                    "the user name is not the certificate's identity");
        }
        Set<String> roles = new LinkedHashSet<>(s.roles().getOrDefault(identity, Set.of()));
        if (s.rolesFromOu()) {
            roles.addAll(attributes(cert.getSubjectX500Principal(), "OU"));
        }
        return AuthenticationResult.allow(new BrokkrPrincipal(identity, roles, Map.of("certificate.subject",
                cert.getSubjectX500Principal().getName())));
    }

    /** The identity of a certificate: its first CN, its first DNS, e-mail or URI SAN, or its subject (RFC 2253). */
    static String identity(Identity kind, X509Certificate cert) {
        return switch (kind) {
            case DN -> cert.getSubjectX500Principal().getName();
            case CN -> {
                List<String> cn = attributes(cert.getSubjectX500Principal(), "CN");
                yield cn.isEmpty() ? null : cn.get(0);
            }
            case SAN -> san(cert);
        };
    }

    private static String san(X509Certificate cert) {
        try {
            Collection<List<?>> names = cert.getSubjectAlternativeNames();
            if (names == null) {
                return null;
            }
            for (List<?> n : names) {
                int type = (Integer) n.get(0);
                if (type == 1 || type == 2 || type == 6) { // rfc822Name, dNSName, uniformResourceIdentifier
                    return n.get(1).toString();
                }
            }
            return null;
        } catch (CertificateParsingException e) {
            LOG.debug("SAN of {} not read", cert.getSubjectX500Principal(), e);
            return null;
        }
    }

    /** The values of one attribute type of a distinguished name, in the order they are written (RFC 2253). */
    static List<String> attributes(X500Principal dn, String type) {
        List<String> out = new ArrayList<>();
        try {
            // getRdns() lists the most significant (rightmost) first: walk back to keep the written order
            List<Rdn> rdns = new LdapName(dn.getName()).getRdns();
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if (rdns.get(i).getType().equalsIgnoreCase(type)) {
                    out.add(rdns.get(i).getValue().toString());
                }
            }
        } catch (InvalidNameException e) {
            LOG.debug("subject {} not parsed", dn, e);
        }
        return out;
    }
}
