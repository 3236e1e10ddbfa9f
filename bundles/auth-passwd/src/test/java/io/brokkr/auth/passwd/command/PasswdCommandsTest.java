package io.brokkr.auth.passwd.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.auth.passwd.PasswdAuthenticator;
import io.brokkr.broker.testing.Mosquitto;
import io.brokkr.broker.testing.Procs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.karaf.shell.api.action.Action;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** mqtt:passwd-add and mqtt:passwd-remove: their file read by the real mosquitto, and by the authenticator at once. */
class PasswdCommandsTest {

    @TempDir
    Path dir;

    static String run(Action action) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            action.execute();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8).trim();
    }

    static PasswdAddCommand add(PasswdAuthenticator auth, String file, String user, String password) {
        PasswdAddCommand c = new PasswdAddCommand();
        c.authenticator = auth;
        c.file = file;
        c.user = user;
        c.password = password;
        return c;
    }

    static PasswdRemoveCommand remove(PasswdAuthenticator auth, String file, String user) {
        PasswdRemoveCommand c = new PasswdRemoveCommand();
        c.authenticator = auth;
        c.file = file;
        c.user = user;
        return c;
    }

    @Test
    void mosquittoReadsWhatTheCommandsWrite() throws Exception {
        Path file = dir.resolve("pw");
        Procs.ok("mosquitto_passwd", "-c", "-H", "sha512", "-b", file.toString(), "old", "o1d");
        assertEquals("Added user 'alice' in " + file, run(add(null, file.toString(), "alice", "s3cret")));
        assertEquals("Added user 'bob' in " + file, run(add(null, file.toString(), "bob", "b0b")));
        assertEquals("Removed user 'bob' from " + file, run(remove(null, file.toString(), "bob")));
        assertEquals("No user 'bob' in " + file, run(remove(null, file.toString(), "bob")));
        assertTrue(Files.readString(file).startsWith("old:$6$"));
        try (Mosquitto m = Mosquitto.withPasswordFile(dir, file)) {
            assertEquals(0, m.pub("alice", "s3cret").exit(), m.log());
            assertEquals(0, m.pub("old", "o1d").exit(), m.log());
            assertNotEquals(0, m.pub("alice", "s3creT").exit());
            assertNotEquals(0, m.pub("bob", "b0b").exit());
        }
    }

    @Test
    void theAuthenticatorSeesTheChangeAtOnce() throws Exception {
        Path file = dir.resolve("pw");
        Procs.ok("mosquitto_passwd", "-c", "-b", file.toString(), "old", "o1d");
        // a reload interval far longer than the test: only the command's reload can make the change visible
        PasswdAuthenticator auth = new PasswdAuthenticator(file, false, Duration.ofHours(1));
        try {
            run(add(auth, null, "alice", "s3cret")); // no --file: the authenticator's file
            assertTrue(auth.users().contains("alice"), auth.users().toString());
            run(remove(auth, null, "old"));
            assertFalse(auth.users().contains("old"));
            assertEquals("a user name cannot contain ':' or a line break: nothing changed",
                    run(add(auth, null, "a:b", "x")));
        } finally {
            auth.close();
        }
    }
}
