package io.brokkr.connector.mongodb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.mongodb.AuthenticationMechanism;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoCredential;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** How a configuration becomes the driver's settings: connection string, credential, timeouts, names. */
class MongoSettingsTest {

    private static Map<String, Object> cfg(String... keyValues) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private static String error(String... keyValues) {
        return assertThrows(IllegalArgumentException.class, () -> MongoSettings.parse(cfg(keyValues))).getMessage();
    }

    @Test
    void defaults() {
        MongoSettings s = MongoSettings.parse(cfg());
        assertEquals(List.of("localhost:27017"), s.hosts());
        assertEquals("brokkr", s.database());
        assertEquals("messages", s.collection());
        assertNull(s.credential());
        MongoClientSettings c = s.clientSettings("brokkr");
        assertEquals(5000, c.getSocketSettings().getConnectTimeout(TimeUnit.MILLISECONDS));
        assertEquals(10000, c.getSocketSettings().getReadTimeout(TimeUnit.MILLISECONDS));
        assertEquals(5000, c.getClusterSettings().getServerSelectionTimeout(TimeUnit.MILLISECONDS));
        assertTrue(c.getWriteConcern().isAcknowledged());
    }

    @Test
    void hostAndPortWhenThereIsNoUri() {
        assertEquals(List.of("db.example:27018"), MongoSettings.parse(cfg("host", "db.example", "port", "27018")).hosts());
        assertEquals(List.of("[::1]:27017"), MongoSettings.parse(cfg("host", "::1")).hosts());
        assertEquals("port: 70000 is not a TCP port", error("port", "70000"));
        // the uri wins over host and port
        assertEquals(List.of("a:1", "b:2"),
                MongoSettings.parse(cfg("uri", "mongodb://a:1,b:2/?replicaSet=rs", "host", "c")).hosts());
    }

    @Test
    void timeoutsComeFromTheKeysThenTheUriThenTheDefaults() {
        MongoSettings fromUri = MongoSettings.parse(cfg("uri",
                "mongodb://h/?connectTimeoutMS=111&socketTimeoutMS=222&serverSelectionTimeoutMS=333"));
        assertEquals(111, fromUri.connectTimeoutMs());
        assertEquals(222, fromUri.socketTimeoutMs());
        assertEquals(333, fromUri.serverSelectionTimeoutMs());
        MongoSettings fromKeys = MongoSettings.parse(cfg("uri", "mongodb://h/?connectTimeoutMS=111",
                "connect.timeout.ms", "1", "socket.timeout.ms", "2", "server.selection.timeout.ms", "3"));
        assertEquals(1, fromKeys.connectTimeoutMs());
        assertEquals(2, fromKeys.socketTimeoutMs());
        assertEquals(3, fromKeys.serverSelectionTimeoutMs());
        assertEquals("server.selection.timeout.ms: must be at least 1 ms, was 0",
                error("uri", "mongodb://h/?serverSelectionTimeoutMS=0"));
    }

    @Test
    void userAndPasswordMakeAScramCredentialInAdmin() {
        MongoCredential c = MongoSettings.parse(cfg("user", "u", "password", "p")).credential();
        assertEquals("u", c.getUserName());
        assertEquals("admin", c.getSource());
        assertArrayEquals("p".toCharArray(), c.getPassword());
        assertNull(c.getAuthenticationMechanism(), "SCRAM-SHA-256 or -1, negotiated with the server");
        assertEquals("db1", MongoSettings.parse(cfg("user", "u", "password", "p", "auth.source", "db1"))
                .credential().getSource());
        // the private key .password wins over password
        assertArrayEquals("secret".toCharArray(), MongoSettings.parse(cfg("user", "u", "password", "p",
                ".password", "secret")).credential().getPassword());
    }

    @Test
    void theKeysOverrideOrCompleteTheCredentialOfTheUri() {
        String uri = "mongodb://uu:pp@h/?authSource=src&authMechanism=SCRAM-SHA-256";
        MongoCredential asIs = MongoSettings.parse(cfg("uri", uri)).credential();
        assertEquals("uu", asIs.getUserName());
        MongoCredential pw = MongoSettings.parse(cfg("uri", uri, "password", "new")).credential();
        assertEquals("uu", pw.getUserName());
        assertEquals("src", pw.getSource());
        assertArrayEquals("new".toCharArray(), pw.getPassword());
        assertEquals(AuthenticationMechanism.SCRAM_SHA_256, pw.getAuthenticationMechanism());
        MongoCredential user = MongoSettings.parse(cfg("uri", uri, "user", "other", "auth.source", "admin"))
                .credential();
        assertEquals("other", user.getUserName());
        assertEquals("admin", user.getSource());
        assertArrayEquals("pp".toCharArray(), user.getPassword());
        // a user in the uri without authSource is authenticated against the uri's database, as the driver does
        assertEquals("appdb", MongoSettings.parse(cfg("uri", "mongodb://uu:pp@h/appdb", "password", "x"))
                .credential().getSource());
    }

    @Test
    void incompleteOrNonScramCredentialsAreErrors() {
        assertEquals("password is set but no user (neither the key user nor the uri)", error("password", "p"));
        assertEquals("user 'u' has no password (set the key password or put it in the uri)", error("user", "u"));
        assertTrue(error("uri", "mongodb://CN%3Dclient@h/?authMechanism=MONGODB-X509", "user", "u", "password", "p")
                .startsWith("user/password/auth.source work with SCRAM only"));
        assertNull(MongoSettings.parse(cfg("auth.source", "admin")).credential(), "no user: nothing to authenticate");
    }

    @Test
    void aUriErrorDoesNotRepeatThePassword() {
        String why = error("uri", "mongodb://u:topsecret@h:badport");
        assertTrue(why.startsWith("uri: not a valid MongoDB connection string: "), why);
        assertFalse(why.contains("topsecret"), why);
    }

    @Test
    void sameConnectionTellsWhetherTheClientCanBeKept() {
        MongoSettings a = MongoSettings.parse(cfg("uri", "mongodb://h", "user", "u", "password", "p"));
        assertTrue(a.sameConnection(MongoSettings.parse(cfg("uri", "mongodb://h", "user", "u", "password", "p",
                "collection", "c2", "database", "d2", "format", "json", "fields", "topic"))));
        assertFalse(a.sameConnection(MongoSettings.parse(cfg("uri", "mongodb://h2", "user", "u", "password", "p"))));
        assertFalse(a.sameConnection(MongoSettings.parse(cfg("uri", "mongodb://h", "user", "u", "password", "q"))));
        assertFalse(a.sameConnection(MongoSettings.parse(cfg("uri", "mongodb://h", "user", "u", "password", "p",
                "socket.timeout.ms", "1"))));
        assertFalse(a.sameConnection(null));
    }
}
