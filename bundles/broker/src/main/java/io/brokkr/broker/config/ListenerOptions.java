package io.brokkr.broker.config;

/**
 * The per-listener keys of a listener's cfg file beyond name, type, host and port, read from
 * {@link ListenerConfig#options()} and checked once, when the listener is created or reconfigured.
 *
 * @param proxyProtocol  {@code proxy.protocol}: every connection starts with a PROXY protocol v1 or v2 header (sent
 *                       by a load balancer such as HAProxy) whose source address is the client's; default false
 * @param path           {@code path}: the HTTP path a WebSocket listener ({@code type = ws}) upgrades; default
 *                       {@code /mqtt}
 * @param allowAnonymous {@code allow.anonymous}: this listener's connections without an authenticator's decision are
 *                       allowed (true) or refused (false); null (absent) = the broker's {@code allow.anonymous}
 * @param maxConnections {@code max.connections}: at most this many open connections, a new one beyond them is closed
 *                       at once; 0 (absent) = no bound
 * @param authFilter     {@code auth.filter}: an LDAP filter (as a DS target filter) over the service properties
 *                       of the {@code Authenticator} services; only matching ones authenticate this listener's
 *                       connections; null (absent) = all
 */
public record ListenerOptions(boolean proxyProtocol, String path, Boolean allowAnonymous, int maxConnections,
                              LdapFilter authFilter) {

    public static final String PROXY_PROTOCOL = "proxy.protocol";
    public static final String PATH = "path";
    public static final String ALLOW_ANONYMOUS = "allow.anonymous";
    public static final String MAX_CONNECTIONS = "max.connections";
    public static final String AUTH_FILTER = "auth.filter";

    /** The default WebSocket path. */
    public static final String DEFAULT_PATH = "/mqtt";

    /** Reads the keys; IllegalArgumentException naming the listener and the key for a bad value. */
    public static ListenerOptions of(ListenerConfig c) {
        try {
            String path = c.option(PATH, DEFAULT_PATH);
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException(PATH + ": '" + path + "' does not start with '/'");
            }
            String filter = c.option(AUTH_FILTER, null);
            return new ListenerOptions(bool(c, PROXY_PROTOCOL, false), path,
                    c.option(ALLOW_ANONYMOUS, null) == null ? null : bool(c, ALLOW_ANONYMOUS, true),
                    BrokerConfig.intProp(c.options(), MAX_CONNECTIONS, 0, 0, Integer.MAX_VALUE),
                    filter == null ? null : filter(filter));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("listener " + c.name() + ": " + e.getMessage(), e);
        }
    }

    private static boolean bool(ListenerConfig c, String key, boolean def) {
        String v = c.option(key, null);
        if (v == null) {
            return def;
        }
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException(key + ": '" + v + "' is not true or false");
    }

    private static LdapFilter filter(String f) {
        try {
            return LdapFilter.parse(f);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(AUTH_FILTER + ": " + e.getMessage());
        }
    }
}
