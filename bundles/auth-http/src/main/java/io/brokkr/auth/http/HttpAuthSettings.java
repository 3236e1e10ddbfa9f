package io.brokkr.auth.http;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The configuration of an {@link HttpAuthenticator}, read from {@code etc/io.brokkr.auth.http.cfg}.
 *
 * @param url          the service's URL (http or https)
 * @param method       GET, POST or PUT
 * @param body         how POST and PUT send the fields: {@link Body#JSON} or {@link Body#FORM}; GET always sends
 *                     them as query parameters
 * @param fields       the fields sent, in this order
 * @param names        the parameter name of each field sent (cfg {@code param.<field>}, default the field's name)
 * @param headers      extra request headers (cfg {@code header.<Name>})
 * @param timeout      time for one attempt, from sending the request to the whole answer
 * @param retries      further attempts after a failed one (no answer in time, a connection error, a 5xx status)
 * @param retryDelay   the wait before the first retry; each further retry waits twice as long
 * @param response     how the answer allows or denies
 * @param resultField  with {@link Response#JSON}: the field holding allow / deny / ignore
 * @param rolesField   with {@link Response#JSON}: the field holding the principal's roles (array or comma list)
 * @param superuserField with {@link Response#JSON}: a boolean field that, when true, adds {@code superuserRole}
 * @param superuserRole the role a superuser gets (e.g. for reading {@code $SYS})
 * @param errorNext    when the service cannot be asked (all attempts failed): true lets the next authenticator
 *                     decide, false refuses with 0x88 Server unavailable
 * @param cacheTtl     how long an answer is reused for the same fields; zero = no cache
 * @param cacheMax     the most answers kept
 */
public record HttpAuthSettings(URI url, String method, Body body, List<Field> fields, Map<Field, String> names,
                               Map<String, String> headers, Duration timeout, int retries, Duration retryDelay,
                               Response response, String resultField, String rolesField, String superuserField,
                               String superuserRole, boolean errorNext, Duration cacheTtl, int cacheMax) {

    /** How POST and PUT carry the fields. */
    public enum Body { JSON, FORM }

    /** How the answer is read. */
    public enum Response {
        /** 2xx allows; 401 and other 4xx refuse with 0x86, 403 with 0x87; 5xx is an error (retried). */
        STATUS,
        /** The status as with STATUS, and a 2xx answer must be a JSON object whose result field decides. */
        JSON
    }

    /** What can be sent about a connecting client. */
    public enum Field {
        USERNAME("username"), PASSWORD("password"), CLIENTID("clientid"), ADDRESS("address"), LISTENER("listener"),
        CN("cn"), PROTOCOL("protocol");

        final String key;

        Field(String key) {
            this.key = key;
        }

        static Field of(String name) {
            for (Field f : values()) {
                if (f.key.equals(name)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown field '" + name
                    + "' (known: username, password, clientid, address, listener, cn, protocol)");
        }
    }

    /** Reads the cfg keys; IllegalArgumentException naming every bad key. */
    public static HttpAuthSettings fromProperties(Map<String, ?> p) {
        List<String> errors = new ArrayList<>();
        URI url = null;
        String u = str(p, "url", null);
        if (u == null) {
            errors.add("url: missing");
        } else {
            try {
                url = URI.create(u);
                if (!"http".equalsIgnoreCase(url.getScheme()) && !"https".equalsIgnoreCase(url.getScheme())
                        || url.getHost() == null) {
                    errors.add("url: '" + u + "' is not an http:// or https:// URL");
                }
            } catch (IllegalArgumentException e) {
                errors.add("url: " + e.getMessage());
            }
        }
        String method = str(p, "method", "POST").toUpperCase(Locale.ROOT);
        if (!method.equals("GET") && !method.equals("POST") && !method.equals("PUT")) {
            errors.add("method: '" + method + "' is not GET, POST or PUT");
        }
        Body body = enumOf(Body.class, "body", str(p, "body", "json"), errors, Body.JSON);
        Response response = enumOf(Response.class, "response", str(p, "response", "status"), errors,
                Response.STATUS);
        List<Field> fields = new ArrayList<>();
        for (String f : str(p, "fields", "username,password,clientid").split(",")) {
            if (!f.isBlank()) {
                try {
                    Field field = Field.of(f.trim().toLowerCase(Locale.ROOT));
                    if (!fields.contains(field)) {
                        fields.add(field);
                    }
                } catch (IllegalArgumentException e) {
                    errors.add("fields: " + e.getMessage());
                }
            }
        }
        Map<Field, String> names = new LinkedHashMap<>();
        for (Field f : fields) {
            names.put(f, str(p, "param." + f.key, f.key));
        }
        Map<String, String> headers = new LinkedHashMap<>();
        p.forEach((k, v) -> {
            if (k.startsWith("header.") && k.length() > "header.".length() && v != null) {
                headers.put(k.substring("header.".length()), v.toString().trim());
            }
        });
        long timeout = number(p, "timeout.ms", 5000, 1, 600_000, errors);
        long retries = number(p, "retries", 2, 0, 100, errors);
        long retryDelay = number(p, "retry.delay.ms", 200, 0, 600_000, errors);
        long ttl = number(p, "cache.ttl.seconds", 0, 0, 86_400 * 365L, errors);
        long cacheMax = number(p, "cache.max.entries", 10_000, 1, 10_000_000, errors);
        String onError = str(p, "on.error", "deny").toLowerCase(Locale.ROOT);
        if (!onError.equals("deny") && !onError.equals("next")) {
            errors.add("on.error: '" + onError + "' is not deny or next");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        return new HttpAuthSettings(url, method, body, List.copyOf(fields), Map.copyOf(names), Map.copyOf(headers),
                Duration.ofMillis(timeout), (int) retries, Duration.ofMillis(retryDelay), response,
                str(p, "result.field", "result"), str(p, "roles.field", "roles"),
                str(p, "superuser.field", "is_superuser"), str(p, "superuser.role", "admin"), onError.equals("next"),
                Duration.ofSeconds(ttl), (int) cacheMax);
    }

    private static String str(Map<String, ?> p, String key, String def) {
        Object v = p.get(key);
        return v == null || v.toString().isBlank() ? def : v.toString().trim();
    }

    private static long number(Map<String, ?> p, String key, long def, long min, long max, List<String> errors) {
        String v = str(p, key, null);
        if (v == null) {
            return def;
        }
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) {
                errors.add(key + ": " + n + " is outside [" + min + ", " + max + "]");
                return def;
            }
            return n;
        } catch (NumberFormatException e) {
            errors.add(key + ": '" + v + "' is not a number");
            return def;
        }
    }

    private static <E extends Enum<E>> E enumOf(Class<E> type, String key, String v, List<String> errors, E def) {
        try {
            return Enum.valueOf(type, v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            errors.add(key + ": '" + v + "' is not one of " + java.util.Arrays.toString(type.getEnumConstants())
                    .toLowerCase(Locale.ROOT));
            return def;
        }
    }
}
