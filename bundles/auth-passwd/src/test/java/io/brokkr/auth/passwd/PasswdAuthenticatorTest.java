package io.brokkr.auth.passwd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.testing.Connects;
import io.brokkr.broker.testing.Procs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authenticator in the real engine, with real clients: Paho 5, Paho 3.1.1 and mosquitto_pub, and password files
 * written by the real mosquitto_passwd 2.0.11.
 */
class PasswdAuthenticatorTest {

    static final Duration RELOAD = Duration.ofSeconds(1);

    @TempDir
    Path dir;
    Path file;
    Broker broker;
    PasswdAuthenticator auth;
    int port;

    void start(boolean allowAnonymous, boolean unknownDeny) throws Exception {
        file = file == null ? dir.resolve("brokkr.passwd") : file;
        broker = new Broker(BrokerConfig.defaults().sysInterval(0).allowAnonymous(allowAnonymous));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("t", "127.0.0.1", 0)).port();
        auth = new PasswdAuthenticator(file, unknownDeny, RELOAD);
        broker.setAuthenticators(List.of(auth));
    }

    @AfterEach
    void stop() {
        if (auth != null) {
            auth.close();
        }
        if (broker != null) {
            broker.stop();
        }
    }

    void mosquittoPasswd(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "mosquitto_passwd";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Procs.ok(cmd);
    }

    /** MQTT 5 CONNECT with Paho: 0 if accepted, else the CONNACK reason code. */
    int connect5(String user, String password) throws Exception {
        return Connects.v5("tcp://127.0.0.1:" + port, "c5-" + System.nanoTime(), user, password, 10);
    }

    /** MQTT 3.1.1 CONNECT with Paho: 0 if accepted, else the CONNACK return code. */
    int connect311(String user, String password) throws Exception {
        return Connects.v311("tcp://127.0.0.1:" + port, "c3-" + System.nanoTime(), user, password, 10);
    }

    Procs.Result mosquittoPub(String version, String user, String password) throws Exception {
        return Procs.run("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V", version,
                "-u", user, "-P", password, "-t", "t/x", "-m", "hi");
    }

    @Test
    void aFileOfTheRealMosquittoPasswd() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", "secret");
        start(false, false);
        assertEquals(0, connect5("alice", "secret"));
        assertEquals(0x86, connect5("alice", "Secret"));
        assertEquals(0, connect311("alice", "secret"));
        assertEquals(4, connect311("alice", "wrong")); // 3.1.1 return code 4: bad user name or password
        assertEquals(0, mosquittoPub("mqttv5", "alice", "secret").exit());
        assertEquals(0, mosquittoPub("mqttv311", "alice", "secret").exit());
        Procs.Result bad = mosquittoPub("mqttv311", "alice", "nope");
        assertNotEquals(0, bad.exit());
        assertTrue(bad.output().contains("bad user name or password"), bad.output());
        bad = mosquittoPub("mqttv5", "alice", "nope");
        assertNotEquals(0, bad.exit());
        assertTrue(bad.output().contains("Bad User Name or Password"), bad.output()); // mosquitto_pub's wording for 0x86
    }

    @Test
    void sha512AndMosquitto21Lines() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-H", "sha512", "-b", file.toString(), "bob", "b0b");
        Files.writeString(file, PasswdFileTest.line21("carol", "c4r0l") + "\n", java.nio.file.StandardOpenOption.APPEND);
        assertTrue(Files.readString(file).startsWith("bob:$6$"));
        start(false, false);
        assertEquals(0, connect5("bob", "b0b"));
        assertEquals(0x86, connect5("bob", "b0B"));
        assertEquals(0, connect5("carol", "c4r0l"));
        assertEquals(0x86, connect5("carol", "c4r0"));
        assertEquals(0, mosquittoPub("mqttv311", "carol", "c4r0l").exit());
    }

    @Test
    void noPasswordAndUnsupportedFormatsAreRefused() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", "secret");
        Files.writeString(file, "ann:$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\npat:plaintext\n",
                java.nio.file.StandardOpenOption.APPEND);
        start(true, false); // allow.anonymous would let them in if the authenticator said NEXT
        assertEquals(0x86, connect5("alice", null));
        assertEquals(0x86, connect5("ann", "anything"));
        assertEquals(0x86, connect5("pat", "plaintext"));
        assertEquals(0, connect5("alice", "secret"));
    }

    @Test
    void unknownUsersNextLeavesItToAllowAnonymous() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", "secret");
        start(true, false);
        assertEquals(0, connect5("stranger", "x"));
        assertEquals(0, connect5(null, null));
        broker.stop();
        auth.close();
        start(false, false);
        assertEquals(0x86, connect5("stranger", "x")); // the broker's own answer with allow.anonymous=false
    }

    @Test
    void unknownUsersDeny() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", "secret");
        start(true, true);
        assertEquals(0x86, connect5("stranger", "x"));
        assertEquals(4, connect311("stranger", "x"));
        assertEquals(0, connect5(null, null)); // no user name: not the password file's business
        assertEquals(0, connect5("alice", "secret"));
    }

    @Test
    void changesOnDiskApplyWithinTheReloadInterval() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", "secret");
        mosquittoPasswd("-b", file.toString(), "bob", "b0b");
        start(false, false);
        assertEquals(0x86, connect5("carol", "c4r0l"));
        assertEquals(0, connect5("bob", "b0b"));

        mosquittoPasswd("-b", file.toString(), "carol", "c4r0l");
        mosquittoPasswd("-D", file.toString(), "bob");
        Duration took = Procs.until(RELOAD.multipliedBy(10), "carol accepted", () -> auth.users().contains("carol"));
        System.out.println("password file change seen after " + took.toMillis() + " ms (reload interval "
                + RELOAD.toMillis() + " ms)");
        assertEquals(0, connect5("carol", "c4r0l"));
        assertEquals(0x86, connect5("bob", "b0b"));
        assertEquals(0, connect5("alice", "secret"));
    }

    @Test
    void aBrokenFileKeepsTheUsersReadBefore() throws Exception {
        file = dir.resolve("brokkr.passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", "secret");
        start(false, false);
        assertEquals(0, connect5("alice", "secret"));
        int loads = auth.loads();

        List<String> lines = Files.readAllLines(file);
        Files.writeString(file, lines.get(0) + "\n" + "dave:" + PasswdFile.hash("d".getBytes(StandardCharsets.UTF_8))
                + "\nthis line has no colon\n");
        Procs.until(RELOAD.multipliedBy(10), "the broken file read", () -> auth.lastError() != null);
        assertEquals("line 3: no ':' between user and hash", auth.lastError());
        assertEquals(loads, auth.loads());
        assertEquals(0, connect5("alice", "secret"));
        assertEquals(0x86, connect5("dave", "d")); // not loaded


        // the line fixed: the file is read again and dave comes in
        Files.writeString(file, lines.get(0) + "\n" + "dave:" + PasswdFile.hash("d".getBytes(StandardCharsets.UTF_8))
                + "\n");
        Procs.until(RELOAD.multipliedBy(10), "the fixed file read", () -> auth.loads() > loads);
        assertEquals(null, auth.lastError());
        assertEquals(0, connect5("dave", "d"));
        assertEquals(0, connect5("alice", "secret"));
    }

    /**
     * A line with 500,000 iterations (about half a second of hashing): the stage comes back before it is done, so
     * the hashing is not done on the calling (network) thread, and it is completed on a verification thread.
     */
    @Test
    void verificationRunsOffTheCallingThread() throws Exception {
        file = dir.resolve("brokkr.passwd");
        Files.writeString(file, "slow:" + PasswdFile.hash("secret".getBytes(StandardCharsets.UTF_8), new byte[12],
                500_000) + "\n");
        auth = new PasswdAuthenticator(file, false, RELOAD);
        var ctx = (io.brokkr.api.ConnectionContext) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {io.brokkr.api.ConnectionContext.class},
                (p, m, a) -> m.getName().equals("username") ? "slow" : null);
        var request = new io.brokkr.api.auth.AuthenticationRequest("secret".getBytes(StandardCharsets.UTF_8), null,
                null, List.of());
        var stage = auth.authenticate(ctx, request).toCompletableFuture();
        assertFalse(stage.isDone());
        Thread[] ran = new Thread[1];
        var r = stage.thenApply(x -> {
            ran[0] = Thread.currentThread();
            return x;
        }).get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(io.brokkr.api.auth.AuthenticationResult.Decision.ALLOW, r.decision());
        assertEquals("slow", r.principal().name());
        assertTrue(ran[0].getName().startsWith("brokkr-passwd-verify-"), ran[0].getName());
        auth.close();
        assertThrows(Exception.class, () -> auth.authenticate(ctx, request).toCompletableFuture().get());
    }
}
