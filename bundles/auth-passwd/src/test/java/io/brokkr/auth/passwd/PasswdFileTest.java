package io.brokkr.auth.passwd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.testing.Procs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file format against mosquitto_passwd 2.0.11 and against the JDK's own PBKDF2 and SHA-512. */
class PasswdFileTest {

    @TempDir
    Path dir;

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The JDK's PBKDF2 (PBEKeySpec, characters as UTF-8): an implementation independent of PasswdFile.pbkdf2. */
    static byte[] jdkPbkdf2(String password, byte[] salt, int iterations) throws Exception {
        return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512")
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 512)).getEncoded();
    }

    /** A Mosquitto 2.1 line: 64-byte salt, 1000 iterations, computed here with the JDK. */
    static String line21(String user, String password) throws Exception {
        byte[] salt = new byte[64];
        new SecureRandom().nextBytes(salt);
        Base64.Encoder e = Base64.getEncoder();
        return user + ":$7$1000$" + e.encodeToString(salt) + "$" + e.encodeToString(jdkPbkdf2(password, salt, 1000));
    }

    @Test
    void pbkdf2MatchesTheJdkFor20And21Parameters() throws Exception {
        SecureRandom r = new SecureRandom();
        for (int[] p : new int[][] {{12, 101}, {64, 1000}, {16, 1}}) {
            byte[] salt = new byte[p[0]];
            r.nextBytes(salt);
            for (String pw : new String[] {"secret", "pässwörd €", "x".repeat(200)}) {
                assertArrayEquals(jdkPbkdf2(pw, salt, p[1]), PasswdFile.pbkdf2(b(pw), salt, p[1]), pw + " " + p[1]);
            }
        }
    }

    @Test
    void linesOfTheRealMosquittoPasswdVerify() throws Exception {
        Path f = dir.resolve("pw");
        Procs.ok("mosquitto_passwd", "-c", "-b", f.toString(), "alice", "secret");
        Procs.ok("mosquitto_passwd", "-H", "sha512", "-b", f.toString(), "bob", "s3cr3t €");
        Map<String, PasswdFile.Entry> users = PasswdFile.read(f);
        PasswdFile.Pbkdf2 alice = assertInstanceOf(PasswdFile.Pbkdf2.class, users.get("alice"));
        assertEquals(101, alice.iterations());
        assertEquals(12, alice.salt().length);
        assertTrue(PasswdFile.verify(alice, b("secret")));
        assertFalse(PasswdFile.verify(alice, b("secreT")));
        assertFalse(PasswdFile.verify(alice, new byte[0]));
        assertArrayEquals(jdkPbkdf2("secret", alice.salt(), 101), alice.hash());

        PasswdFile.Sha512 bob = assertInstanceOf(PasswdFile.Sha512.class, users.get("bob"));
        assertTrue(PasswdFile.verify(bob, b("s3cr3t €")));
        assertFalse(PasswdFile.verify(bob, b("s3cr3t")));
        MessageDigest md = MessageDigest.getInstance("SHA-512");
        md.update(b("s3cr3t €"));
        assertArrayEquals(md.digest(bob.salt()), bob.hash());
    }

    @Test
    void mosquitto21Lines() throws Exception {
        Map<String, PasswdFile.Entry> users = PasswdFile.parse(List.of(line21("carol", "pw21")));
        PasswdFile.Pbkdf2 carol = assertInstanceOf(PasswdFile.Pbkdf2.class, users.get("carol"));
        assertEquals(1000, carol.iterations());
        assertEquals(64, carol.salt().length);
        assertTrue(PasswdFile.verify(carol, b("pw21")));
        assertFalse(PasswdFile.verify(carol, b("pw2")));
    }

    @Test
    void unsupportedFormatsAreEntriesThatNeverVerify() throws Exception {
        Map<String, PasswdFile.Entry> users = PasswdFile.parse(List.of(
                "# a comment", "",
                "ann:$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                "pat:plaintext"));
        assertEquals(new PasswdFile.Unsupported("$argon2id$"), users.get("ann"));
        assertEquals(new PasswdFile.Unsupported("plain text password"), users.get("pat"));
        assertFalse(PasswdFile.verify(users.get("pat"), b("plaintext")));
    }

    @Test
    void brokenLinesNameTheirLine() {
        String ok = "alice:" + PasswdFile.hash(b("x"));
        assertEquals(2, assertThrows(PasswdFile.ParseException.class,
                () -> PasswdFile.parse(List.of(ok, "no colon here"))).line());
        assertEquals(3, assertThrows(PasswdFile.ParseException.class,
                () -> PasswdFile.parse(List.of("#", ok, "bob:$7$abc$AAAA$AAAA"))).line());
        assertEquals(1, assertThrows(PasswdFile.ParseException.class,
                () -> PasswdFile.parse(List.of("bob:$7$101$!!!$AAAA"))).line());
        assertEquals(1, assertThrows(PasswdFile.ParseException.class,
                () -> PasswdFile.parse(List.of("bob:$6$AAAA$AAAA"))).line()); // hash not 64 bytes
    }

    /** Mosquitto 2.0.11 lets the last line of a user count (its password_file with two lines for u checked by hand). */
    @Test
    void theLastLineOfAUserCounts() throws Exception {
        String first = "u:" + PasswdFile.hash(b("first"));
        String second = "u:" + PasswdFile.hash(b("second"));
        PasswdFile.Entry u = PasswdFile.parse(List.of(first, "v:plain", second)).get("u");
        assertTrue(PasswdFile.verify(u, b("second")));
        assertFalse(PasswdFile.verify(u, b("first")));
        Path f = dir.resolve("dup");
        Files.writeString(f, first + "\nv:plain\n" + second + "\n");
        PasswdFile.put(f, "u", b("third"));
        List<String> lines = Files.readAllLines(f);
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(PasswdFile.verify(PasswdFile.read(f).get("u"), b("third")));
    }

    @Test
    void putAndRemoveKeepTheOtherLines() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "# users\nann:plaintext\nbob:" + PasswdFile.hash(b("b")) + "\n");
        assertFalse(PasswdFile.put(f, "carol", b("c")));
        assertTrue(PasswdFile.put(f, "ann", b("a")));
        List<String> lines = Files.readAllLines(f);
        assertEquals(4, lines.size(), lines.toString());
        assertEquals("# users", lines.get(0));
        assertTrue(lines.get(1).startsWith("ann:$7$101$"), lines.get(1));
        assertTrue(lines.get(2).startsWith("bob:$7$101$"), lines.get(2));
        assertTrue(lines.get(3).startsWith("carol:$7$101$"), lines.get(3));
        Map<String, PasswdFile.Entry> users = PasswdFile.read(f);
        assertTrue(PasswdFile.verify(users.get("ann"), b("a")));
        assertTrue(PasswdFile.remove(f, "bob"));
        assertFalse(PasswdFile.remove(f, "bob"));
        assertEquals(List.of("ann", "carol"), List.copyOf(PasswdFile.read(f).keySet()));
        assertThrows(IllegalArgumentException.class, () -> PasswdFile.put(f, "a:b", b("x")));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file left");
        }
    }
}
