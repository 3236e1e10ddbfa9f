package io.brokkr.auth.http;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.api.storage.Json;
import io.brokkr.auth.http.HttpAuthSettings.Field;
import io.brokkr.auth.support.Registration;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates clients by asking an HTTP service (cfg {@code url}, {@code method}), as commercial brokers' HTTP
 * auth hooks do: the fields chosen in {@code fields} (user name, password, client id, address, listener,
 * certificate CN, protocol) go as JSON or form body (POST, PUT) or as query parameters (GET), and the answer's
 * status, or a field of its JSON body, allows, refuses or leaves the client to the next authenticator.
 *
 * <p>The request is sent with the JDK {@link HttpClient}'s asynchronous API on this component's own threads: no
 * network thread of the broker ever waits for it. An attempt that gets no whole answer within {@code timeout.ms},
 * cannot connect, or gets a 5xx (or 408, 429) status is tried again up to {@code retries} times, after
 * {@code retry.delay.ms} doubled on each retry; when every attempt failed, {@code on.error} decides (refuse with 0x88
 * Server unavailable, or next). Answers that decide (allow, deny, ignore) can be reused for {@code cache.ttl.seconds}
 * for the same fields (the password included, as a SHA-256 digest).
 *
 * <p>Configured by {@code etc/io.brokkr.auth.http.cfg}; the component registers itself by hand, with its cfg keys
 * as service properties (but the headers, which may hold secrets), so that {@code service.ranking} is an Integer
 * and a listener's authenticator filter can select it by any key of the file.
 */
@Component(name = "io.brokkr.auth.http", configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
public class HttpAuthenticator implements Authenticator, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HttpAuthenticator.class);
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** One answer kept for {@code cache.ttl.seconds}. */
    private record Cached(AuthenticationResult result, long expiresNanos) {
    }

    /** What one attempt gave: a decision, or an error that may be retried. */
    private record Outcome(AuthenticationResult result, String error, boolean retriable) {
        static Outcome of(AuthenticationResult r) {
            return new Outcome(r, null, false);
        }

        static Outcome error(String error, boolean retriable) {
            return new Outcome(null, error, retriable);
        }
    }

    private final ExecutorService executor;
    private volatile HttpAuthSettings settings;
    private volatile HttpClient client;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Set<CompletableFuture<AuthenticationResult>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile long lastLogNanos = System.nanoTime() - LOG_INTERVAL_NANOS;
    private Registration registration;

    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong cacheHits = new AtomicLong();

    public HttpAuthenticator() {
        AtomicInteger n = new AtomicInteger();
        executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "brokkr-auth-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** For use without OSGi (tests, an embedded engine). */
    public HttpAuthenticator(HttpAuthSettings settings) {
        this();
        apply(settings);
    }

    @Activate
    void activate(BundleContext context, Map<String, Object> props) {
        try {
            apply(HttpAuthSettings.fromProperties(props));
        } catch (IllegalArgumentException e) {
            // registered anyway, refusing everyone: a broken auth configuration must not let clients in
            LOG.error("HTTP authenticator configuration: {}; every client is refused (0x88) until it is fixed",
                    e.getMessage());
        }
        registration = Registration.register(context, LOG, this, props, 100, Authenticator.class.getName());
    }

    @Modified
    void modified(Map<String, Object> props) {
        try {
            apply(HttpAuthSettings.fromProperties(props));
            registration.update(props);
        } catch (IllegalArgumentException e) {
            LOG.error("HTTP authenticator configuration: {}; the previous configuration stays in force",
                    e.getMessage());
        }
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
        close();
    }

    private synchronized void apply(HttpAuthSettings s) {
        HttpAuthSettings old = settings;
        if (old == null || !old.timeout().equals(s.timeout())) {
            client = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(s.timeout())
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .executor(executor)
                    .build();
        }
        settings = s;
        cache.clear(); // answers of another service or another reading of it
        LOG.info("HTTP authenticator: {} {} ({} body, {} answer, timeout {} ms, {} retries, cache {} s)",
                s.method(), s.url(), s.body().name().toLowerCase(Locale.ROOT),
                s.response().name().toLowerCase(Locale.ROOT), s.timeout().toMillis(), s.retries(),
                s.cacheTtl().toSeconds());
    }

    /** Stops asking: checks still waiting for an answer complete exceptionally (the broker refuses with 0x88). */
    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
        for (CompletableFuture<AuthenticationResult> f : pending) {
            f.completeExceptionally(new IllegalStateException("the HTTP authenticator was stopped"));
        }
    }

    @Override
    public CompletionStage<AuthenticationResult> authenticate(ConnectionContext context,
                                                              AuthenticationRequest request) {
        HttpAuthSettings s = settings;
        if (s == null) {
            return CompletableFuture.completedFuture(AuthenticationResult.deny(
                    AuthenticationResult.SERVER_UNAVAILABLE, "the HTTP authenticator's configuration is not valid"));
        }
        Map<Field, String> values = values(context, request, s);
        String key = s.cacheTtl().isZero() ? null : cacheKey(values);
        if (key != null) {
            Cached c = cache.get(key);
            if (c != null && c.expiresNanos() - System.nanoTime() > 0) {
                cacheHits.incrementAndGet();
                return CompletableFuture.completedFuture(c.result());
            }
        }
        HttpRequest httpRequest;
        try {
            httpRequest = request(s, values);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(AuthenticationResult.deny(
                    AuthenticationResult.SERVER_UNAVAILABLE, "cannot build the HTTP request: " + e.getMessage()));
        }
        CompletableFuture<AuthenticationResult> out = new CompletableFuture<>();
        pending.add(out);
        out.whenComplete((r, e) -> pending.remove(out));
        attempt(s, httpRequest, 0, out, key, values.get(Field.USERNAME), values.get(Field.CN), context.clientId());
        return out;
    }

    private void attempt(HttpAuthSettings s, HttpRequest httpRequest, int attempt,
                         CompletableFuture<AuthenticationResult> out, String key, String user, String cn,
                         String clientId) {
        if (closed || out.isDone()) {
            return;
        }
        requests.incrementAndGet();
        CompletableFuture<HttpResponse<String>> sent;
        try {
            sent = client.sendAsync(httpRequest, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (RuntimeException e) { // the executor was shut down
            out.completeExceptionally(e);
            return;
        }
        sent.whenComplete((response, error) -> {
            Outcome o = error != null ? Outcome.error(describe(error), true)
                    : interpret(s, response, user, cn, clientId);
            if (o.result() != null) {
                if (key != null) {
                    remember(key, o.result(), s);
                }
                out.complete(o.result());
            } else if (o.retriable() && attempt < s.retries() && !closed) {
                retried.incrementAndGet();
                long delay = s.retryDelay().toMillis() << Math.min(attempt, 20);
                CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS, executor)
                        .execute(() -> attempt(s, httpRequest, attempt + 1, out, key, user, cn, clientId));
            } else {
                failures.incrementAndGet();
                logFailure(s, clientId, attempt + 1, o.error());
                out.complete(s.errorNext() ? AuthenticationResult.next()
                        : AuthenticationResult.deny(AuthenticationResult.SERVER_UNAVAILABLE,
                                "authentication service unavailable"));
            }
        });
    }

    private void remember(String key, AuthenticationResult r, HttpAuthSettings s) {
        if (cache.size() >= s.cacheMax()) {
            long now = System.nanoTime();
            cache.values().removeIf(c -> c.expiresNanos() - now <= 0);
            if (cache.size() >= s.cacheMax()) {
                cache.clear();
            }
        }
        cache.put(key, new Cached(r, System.nanoTime() + s.cacheTtl().toNanos()));
    }

    private void logFailure(HttpAuthSettings s, String clientId, int attempts, String error) {
        long now = System.nanoTime();
        if (now - lastLogNanos >= LOG_INTERVAL_NANOS) {
            lastLogNanos = now;
            LOG.warn("HTTP authenticator: {} {} failed for client {} after {} attempt(s): {}; the client is {} "
                            + "({} failed checks so far, logged at most every 10 s)", s.method(), s.url(), clientId,
                    attempts, error, s.errorNext() ? "left to the next authenticator" : "refused with 0x88",
                    failures.get());
        }
    }

    private static String describe(Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (e instanceof HttpTimeoutException) {
            return "no answer in time (" + e.getMessage() + ")";
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /** Reads one answer. */
    static Outcome interpret(HttpAuthSettings s, HttpResponse<String> response, String user, String cn,
                             String clientId) {
        int status = response.statusCode();
        if (status >= 500 || status == 408 || status == 429) {
            return Outcome.error("HTTP " + status, true);
        }
        if (status == 403) {
            return Outcome.of(AuthenticationResult.deny(AuthenticationResult.NOT_AUTHORIZED,
                    "refused by the authentication service (HTTP 403)"));
        }
        if (status >= 400) {
            return Outcome.of(AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD,
                    "refused by the authentication service (HTTP " + status + ")"));
        }
        if (status < 200 || status >= 300) {
            return Outcome.error("unexpected HTTP " + status, false);
        }
        String name = user != null ? user : cn != null ? cn : clientId;
        if (s.response() == HttpAuthSettings.Response.STATUS) {
            return Outcome.of(AuthenticationResult.allow(BrokkrPrincipal.of(name)));
        }
        Object parsed;
        try {
            parsed = Json.parse(response.body() == null ? "" : response.body().trim());
        } catch (IllegalArgumentException e) {
            return Outcome.error("the answer is not JSON: " + e.getMessage(), false);
        }
        if (!(parsed instanceof Map<?, ?> body)) {
            return Outcome.error("the answer is not a JSON object", false);
        }
        Object result = body.get(s.resultField());
        String decision = result == null ? null : result.toString().toLowerCase(Locale.ROOT);
        if (decision == null) {
            return Outcome.error("the answer has no field '" + s.resultField() + "'", false);
        }
        switch (decision) {
            case "allow", "true" -> {
                Set<String> roles = new LinkedHashSet<>();
                Object r = body.get(s.rolesField());
                if (r instanceof Collection<?> list) {
                    list.forEach(x -> roles.add(String.valueOf(x)));
                } else if (r != null) {
                    for (String x : r.toString().split(",")) {
                        if (!x.isBlank()) {
                            roles.add(x.trim());
                        }
                    }
                }
                if (Boolean.TRUE.equals(body.get(s.superuserField()))) {
                    roles.add(s.superuserRole());
                }
                return Outcome.of(AuthenticationResult.allow(new BrokkrPrincipal(name, roles, Map.of())));
            }
            case "deny", "false" -> {
                Object reason = body.get("reason");
                return Outcome.of(AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD,
                        reason != null ? reason.toString() : "refused by the authentication service"));
            }
            case "ignore", "next" -> {
                return Outcome.of(AuthenticationResult.next());
            }
            default -> {
                return Outcome.error("'" + s.resultField() + "' is '" + result
                        + "', not allow, deny or ignore", false);
            }
        }
    }

    /** The values of the configured fields for one client; absent values (no user name, no certificate) are null. */
    static Map<Field, String> values(ConnectionContext c, AuthenticationRequest r, HttpAuthSettings s) {
        Map<Field, String> v = new EnumMap<>(Field.class);
        for (Field f : s.fields()) {
            v.put(f, switch (f) {
                case USERNAME -> c.username();
                case PASSWORD -> r.password() == null ? null : new String(r.password(), StandardCharsets.UTF_8);
                case CLIENTID -> c.clientId();
                case ADDRESS -> c.remoteAddress() == null ? null
                        : c.remoteAddress().getAddress() != null ? c.remoteAddress().getAddress().getHostAddress()
                        : c.remoteAddress().getHostString();
                case LISTENER -> c.listenerName();
                case CN -> commonName(c.peerCertificates());
                case PROTOCOL -> c.protocolVersion() == null ? null : c.protocolVersion().name();
            });
        }
        if (!v.containsKey(Field.USERNAME)) {
            v.put(Field.USERNAME, null); // not sent; only for the principal's name below
        }
        return v;
    }

    /** The CN of the client's own certificate, or null. */
    static String commonName(List<X509Certificate> chain) {
        if (chain == null || chain.isEmpty()) {
            return null;
        }
        try {
            LdapName dn = new LdapName(chain.get(0).getSubjectX500Principal().getName());
            for (Rdn rdn : dn.getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            LOG.debug("certificate subject not parsed", e);
        }
        return null;
    }

    static HttpRequest request(HttpAuthSettings s, Map<Field, String> values) {
        Map<String, String> params = new LinkedHashMap<>();
        for (Field f : s.fields()) {
            params.put(s.names().get(f), values.get(f));
        }
        HttpRequest.Builder b = HttpRequest.newBuilder().timeout(s.timeout());
        s.headers().forEach(b::header);
        if (s.method().equals("GET")) {
            String q = form(params);
            String url = s.url().toString();
            b.uri(URI.create(q.isEmpty() ? url : url + (s.url().getRawQuery() == null ? "?" : "&") + q)).GET();
        } else {
            String body;
            if (s.body() == HttpAuthSettings.Body.JSON) {
                body = Json.write(params);
                b.header("Content-Type", "application/json");
            } else {
                body = form(params);
                b.header("Content-Type", "application/x-www-form-urlencoded");
            }
            b.uri(s.url()).method(s.method(), HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        }
        return b.build();
    }

    private static String form(Map<String, String> params) {
        StringBuilder sb = new StringBuilder();
        params.forEach((k, v) -> {
            if (v != null) {
                if (sb.length() > 0) {
                    sb.append('&');
                }
                sb.append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=')
                        .append(URLEncoder.encode(v, StandardCharsets.UTF_8));
            }
        });
        return sb.toString();
    }

    private static String cacheKey(Map<Field, String> values) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            values.forEach((f, v) -> {
                md.update((byte) f.ordinal());
                if (v == null) {
                    md.update((byte) 0);
                } else {
                    byte[] b = v.getBytes(StandardCharsets.UTF_8);
                    md.update(ByteBuffer.allocate(5).put((byte) 1).putInt(b.length).flip());
                    md.update(b);
                }
            });
            return Base64.getEncoder().encodeToString(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Counters for tests and the log: requests sent, retries, checks that failed, answers from the cache. */
    public Map<String, Long> counters() {
        Map<String, Long> m = new HashMap<>();
        m.put("requests", requests.get());
        m.put("retries", retried.get());
        m.put("failures", failures.get());
        m.put("cacheHits", cacheHits.get());
        return m;
    }
}
