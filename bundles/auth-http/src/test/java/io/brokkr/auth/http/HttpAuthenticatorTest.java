package io.brokkr.auth.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.testing.Connects;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP authenticator in the real engine with real clients (Paho 5, Paho 3.1.1, mosquitto_pub), asking a real
 * HTTP server (the JDK's) that answers slowly, fails, or decides, for each method and body.
 */
class HttpAuthenticatorTest {

    /** One request the service received. */
    record Seen(String method, String contentType, String query, String body, Map<String, String> params) {
    }

    HttpServer server;
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** Answers per user name: status code, body, and a delay in ms. */
    final Map<String, int[]> statusAndDelay = new ConcurrentHashMap<>();
    final Map<String, String> bodies = new ConcurrentHashMap<>();
    /** Per user: statuses for the first requests (then statusAndDelay), to fail a few attempts. */
    final Map<String, List<Integer>> firstStatuses = new ConcurrentHashMap<>();
    final AtomicInteger requests = new AtomicInteger();

    Broker broker;
    HttpAuthenticator auth;
    int port;
    final Map<String, BrokkrPrincipal> principals = new ConcurrentHashMap<>();

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/auth", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        if (auth != null) {
            auth.close();
        }
        if (broker != null) {
            broker.stop();
        }
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        requests.incrementAndGet();
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String query = ex.getRequestURI().getRawQuery();
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        Map<String, String> params = new HashMap<>();
        if (ct != null && ct.contains("json")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) io.brokkr.api.storage.Json.parse(body);
            m.forEach((k, v) -> params.put(k, v == null ? null : v.toString()));
        } else {
            decodeForm(ct != null ? body : query, params);
        }
        seen.add(new Seen(ex.getRequestMethod(), ct, query, body, params));
        String user = params.getOrDefault("username", params.get("user"));
        int status;
        int delay;
        List<Integer> first = firstStatuses.get(String.valueOf(user));
        if (first != null && !first.isEmpty()) {
            status = first.remove(0);
            delay = 0;
        } else if (params.containsKey("password") && !"pw".equals(params.get("password"))
                && !"s3cret".equals(params.get("password")) && !"p&=w ü".equals(params.get("password"))) {
            status = 401; // the service's users all have one of these passwords
            delay = 0;
        } else {
            int[] sd = statusAndDelay.getOrDefault(String.valueOf(user), new int[] {401, 0});
            status = sd[0];
            delay = sd[1];
        }
        if (delay > 0) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        byte[] out = bodies.getOrDefault(String.valueOf(user), "").getBytes(StandardCharsets.UTF_8);
        try {
            ex.sendResponseHeaders(status, out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
                ex.getResponseBody().write(out);
            }
        } catch (IOException clientGone) {
            // the authenticator gave up waiting (timeout): nothing to answer to
        }
        ex.close();
    }

    private static void decodeForm(String s, Map<String, String> into) {
        if (s == null || s.isEmpty()) {
            return;
        }
        for (String kv : s.split("&")) {
            int eq = kv.indexOf('=');
            into.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
        }
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/auth";
    }

    void start(boolean allowAnonymous, Map<String, Object> cfg) throws Exception {
        Map<String, Object> p = new HashMap<>(cfg);
        p.putIfAbsent("url", url());
        broker = new Broker(BrokerConfig.defaults().sysInterval(0).allowAnonymous(allowAnonymous).ioThreads(1));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("t", "127.0.0.1", 0)).port();
        auth = new HttpAuthenticator(HttpAuthSettings.fromProperties(p));
        broker.setAuthenticators(List.of(auth));
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizeSubscribe(ConnectionContext c, String filter, int qos) {
                if (c.principal() != null) {
                    principals.put(c.clientId(), c.principal());
                }
                return Decision.NEXT;
            }
        }));
    }

    MqttClient client5(String id, String user, String password) throws MqttException {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setConnectionTimeout(20);
        if (user != null) {
            o.setUserName(user);
        }
        if (password != null) {
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        }
        c.connect(o);
        return c;
    }

    /** MQTT 5 CONNECT: 0 if accepted, else the CONNACK reason code. */
    int connect5(String user, String password) throws Exception {
        return Connects.v5("tcp://127.0.0.1:" + port, "c5-" + System.nanoTime(), user, password, 20);
    }

    /** MQTT 3.1.1 CONNECT: 0 if accepted, else the CONNACK return code. */
    int connect311(String user, String password) throws Exception {
        return Connects.v311("tcp://127.0.0.1:" + port, "c3-" + System.nanoTime(), user, password, 20);
    }

    @Test
    void postJsonByStatus() throws Exception {
        statusAndDelay.put("alice", new int[] {200, 0});
        statusAndDelay.put("mallory", new int[] {403, 0});
        start(false, Map.of("method", "POST", "body", "json", "fields", "username,password,clientid,address,listener,protocol"));
        assertEquals(0, connect5("alice", "s3cret"));
        assertEquals(0x86, connect5("bob", "x"));        // 401
        assertEquals(0x87, connect5("mallory", "pw"));   // 403
        assertEquals(0, connect311("alice", "s3cret"));
        assertEquals(4, connect311("bob", "x"));         // 3.1.1: bad user name or password
        Seen s = seen.get(0);
        assertEquals("POST", s.method());
        assertEquals("application/json", s.contentType());
        assertEquals("alice", s.params().get("username"));
        assertEquals("s3cret", s.params().get("password"));
        assertTrue(s.params().get("clientid").startsWith("c5-"));
        assertEquals("127.0.0.1", s.params().get("address"));
        assertEquals("t", s.params().get("listener"));
        assertEquals("MQTT_5", s.params().get("protocol"));
        assertEquals("MQTT_3_1_1", seen.get(3).params().get("protocol"));
    }

    @Test
    void getWithQueryParametersAndPutWithForm() throws Exception {
        statusAndDelay.put("alice", new int[] {204, 0});
        start(false, Map.of("method", "GET", "fields", "username,password,clientid", "param.clientid", "client_id",
                "url", url() + "?tenant=a%20b"));
        assertEquals(0, connect5("alice", "p&=w ü"));
        Seen s = seen.get(0);
        assertEquals("GET", s.method());
        assertTrue(s.query().startsWith("tenant=a%20b&username=alice&password="), s.query());
        Map<String, String> q = new HashMap<>();
        decodeForm(s.query(), q);
        assertEquals("p&=w ü", q.get("password"));
        assertTrue(q.get("client_id").startsWith("c5-"));
        auth.close();
        broker.stop();

        seen.clear();
        start(false, Map.of("method", "PUT", "body", "form", "header.X-Api-Key", "k1"));
        assertEquals(0, connect5("alice", "pw"));
        assertEquals(0x86, connect5("carol", "pw"));
        s = seen.get(0);
        assertEquals("PUT", s.method());
        assertEquals("application/x-www-form-urlencoded", s.contentType());
        assertEquals("alice", s.params().get("username"));
        assertEquals("pw", s.params().get("password"));
    }

    @Test
    void jsonAnswerGivesRolesAndCanPassToTheNext() throws Exception {
        statusAndDelay.put("ops", new int[] {200, 0});
        bodies.put("ops", "{\"result\":\"allow\",\"roles\":[\"operator\",\"metrics\"],\"is_superuser\":true}");
        statusAndDelay.put("nobody", new int[] {200, 0});
        bodies.put("nobody", "{\"result\":\"deny\",\"reason\":\"account locked\"}");
        statusAndDelay.put("guest", new int[] {200, 0});
        bodies.put("guest", "{\"result\":\"ignore\"}");
        statusAndDelay.put("broken", new int[] {200, 0});
        bodies.put("broken", "<html>oops</html>");
        start(false, Map.of("response", "json", "retries", "3"));

        MqttClient c = client5("ops-client", "ops", "pw");
        c.subscribe("x/#", 1);
        c.disconnect();
        c.close();
        BrokkrPrincipal p = principals.get("ops-client");
        assertNotNull(p);
        assertEquals("ops", p.name());
        assertTrue(p.hasRole("operator") && p.hasRole("metrics") && p.hasRole("admin"), p.roles().toString());

        assertEquals(0x86, connect5("nobody", "pw"));
        assertEquals(0x86, connect5("guest", "pw")); // ignore -> next -> allow.anonymous=false refuses
        int before = requests.get();
        assertEquals(0x88, connect5("broken", "pw")); // not JSON: an error, not retried
        assertEquals(before + 1, requests.get());
        auth.close();
        broker.stop();

        start(true, Map.of("response", "json"));
        assertEquals(0, connect5("guest", "pw")); // ignore -> allow.anonymous=true lets it in
    }

    @Test
    void timeoutsAndServerErrorsAreRetriedThenRefusedOrPassedOn() throws Exception {
        statusAndDelay.put("slow", new int[] {200, 3000});
        firstStatuses.put("flaky", new CopyOnWriteArrayList<>(List.of(503, 500)));
        statusAndDelay.put("flaky", new int[] {200, 0});
        start(false, Map.of("timeout.ms", "300", "retries", "2", "retry.delay.ms", "50"));

        long t0 = System.nanoTime();
        assertEquals(0x88, connect5("slow", "pw"));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        // three attempts of 300 ms, 50 + 100 ms apart: refused after about 1.05 s, long before the 3 s answer
        assertTrue(ms >= 900 && ms < 2900, ms + " ms");
        assertEquals(3, seen.stream().filter(s -> "slow".equals(s.params().get("username"))).count());
        assertEquals(3, connect311("slow", "pw")); // 3.1.1: server unavailable

        assertEquals(0, connect5("flaky", "pw")); // 503, 500, then 200
        assertEquals(3, seen.stream().filter(s -> "flaky".equals(s.params().get("username"))).count());
        assertTrue(auth.counters().get("retries") >= 6, auth.counters().toString());
        auth.close();
        broker.stop();

        server.stop(0); // nothing listens any more: connection refused
        start(true, Map.of("url", url(), "retries", "1", "retry.delay.ms", "10", "on.error", "next"));
        assertEquals(0, connect5("anyone", "pw")); // on.error = next, allow.anonymous = true
        startServer();
    }

    @Test
    void aSlowServiceNeverStallsTheNetworkThread() throws Exception {
        statusAndDelay.put("slow", new int[] {200, 2000});
        statusAndDelay.put("fast", new int[] {200, 0});
        start(false, Map.of("timeout.ms", "5000"));
        // one network thread (io.threads = 1): a connected client's round trips go on while a CONNECT waits
        MqttClient pub = client5("pub", "fast", "pw");
        CountDownLatch got = new CountDownLatch(20);
        pub.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage m) {
                got.countDown();
            }

            @Override
            public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) {
            }

            @Override
            public void mqttErrorOccurred(MqttException e) {
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken t) {
            }

            @Override
            public void connectComplete(boolean reconnect, String uri) {
            }

            @Override
            public void authPacketArrived(int reason, org.eclipse.paho.mqttv5.common.packet.MqttProperties p) {
            }
        });
        pub.subscribe("loop/x", 1);
        Thread slow = new Thread(() -> {
            try {
                connect5("slow", "pw");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        slow.start();
        assertTrue(waitFor(() -> seen.stream().anyMatch(s -> "slow".equals(s.params().get("username")))));
        long t0 = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            pub.publish("loop/x", new MqttMessage(("m" + i).getBytes(StandardCharsets.UTF_8)));
        }
        assertTrue(got.await(1500, TimeUnit.MILLISECONDS), "round trips stalled while a CONNECT waited");
        assertEquals(0, connect5("fast", "pw"));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 1500, "a second client waited " + ms + " ms behind the slow one");
        slow.join(10_000);
        pub.disconnect();
        pub.close();
    }

    @Test
    void answersAreCachedForTheirTtl() throws Exception {
        statusAndDelay.put("alice", new int[] {200, 0});
        start(false, Map.of("cache.ttl.seconds", "1"));
        assertEquals(0, connect5("alice", "pw"));
        assertEquals(0, connect5("alice", "pw"));
        assertEquals(0x86, connect5("alice", "other")); // another password is another entry
        assertEquals(0x86, connect5("alice", "other"));
        // the client id is a field too: every connect5 has a new one, so use fixed ids
        seen.clear();
        auth.close();
        broker.stop();
        start(false, Map.of("cache.ttl.seconds", "1", "fields", "username,password"));
        assertEquals(0, connect5("alice", "pw"));
        assertEquals(0, connect5("alice", "pw"));
        assertEquals(0x86, connect5("alice", "other"));
        assertEquals(0x86, connect5("alice", "other"));
        assertEquals(2, seen.size());
        assertEquals(2, auth.counters().get("cacheHits"));
        Thread.sleep(1100);
        assertEquals(0, connect5("alice", "pw"));
        assertEquals(3, seen.size());
    }

    @Test
    void mosquittoPubThroughTheService() throws Exception {
        statusAndDelay.put("alice", new int[] {200, 0});
        start(false, Map.of());
        for (String v : List.of("mqttv311", "mqttv5")) {
            assertEquals(0, mosquittoPub(v, "alice", "pw"), v);
            assertTrue(mosquittoPub(v, "bob", "pw") != 0, v);
        }
    }

    int mosquittoPub(String version, String user, String password) throws Exception {
        Process p = new ProcessBuilder("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V", version,
                "-u", user, "-P", password, "-t", "t/x", "-m", "hi").redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return p.exitValue();
    }

    @Test
    void badConfigurationsNameTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HttpAuthSettings.fromProperties(Map.of("url", "ftp://x", "method", "DELETE", "timeout.ms", "x",
                        "fields", "username,shoe", "response", "maybe", "on.error", "allow")));
        for (String key : List.of("url:", "method:", "timeout.ms:", "fields:", "response:", "on.error:")) {
            assertTrue(e.getMessage().contains(key), key + " in " + e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HttpAuthSettings.fromProperties(Map.of()))
                .getMessage().contains("url: missing"));
    }

    private static boolean waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
