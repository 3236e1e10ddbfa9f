package io.brokkr.auth.acl.command;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.auth.acl.AclAuthorizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** mqtt:acl-check against an authorizer reading a real file. */
class AclCheckCommandTest {

    @TempDir
    Path dir;

    static String run(AclAuthorizer auth, String... args) throws Exception {
        AclCheckCommand c = new AclCheckCommand();
        c.authorizer = auth;
        c.args = List.of(args);
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            c.execute();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8).trim();
    }

    @Test
    void answersAsTheAuthorizer() throws Exception {
        Path file = dir.resolve("acl");
        Files.writeString(file, "topic read public/#\npattern write clients/%c/#\nuser alice\ntopic alice/#\n"
                + "topic deny alice/secret\n");
        AclAuthorizer auth = new AclAuthorizer(file, false, Duration.ofSeconds(60));
        try {
            assertEquals("ALLOW (granted): PUBLISH to 'alice/x' by user 'alice', client id 'alice' (" + file + ")",
                    run(auth, "alice", "alice/x", "write"));
            assertEquals("DENY (a deny line): PUBLISH to 'alice/secret' by user 'alice', client id 'alice' ("
                    + file + ")", run(auth, "alice", "alice/secret", "write"));
            assertEquals("DENY (a deny line): SUBSCRIBE to 'alice/#' by user 'alice', client id 'alice' ("
                    + file + ")", run(auth, "alice", "alice/#", "read"));
            assertEquals("ALLOW (granted): PUBLISH to 'clients/dev1/x' by user 'alice', client id 'dev1' ("
                    + file + ")", run(auth, "alice", "dev1", "clients/dev1/x", "write"));
            assertEquals("DENY (not granted): PUBLISH to 'clients/dev1/x' by user 'alice', client id 'alice' ("
                    + file + ")", run(auth, "alice", "clients/dev1/x", "write"));
            assertEquals("ALLOW (granted): SUBSCRIBE to 'public/+' by a client without a user name, client id '' ("
                    + file + ")", run(auth, "-", "public/+", "read"));
            assertEquals("The access is read (SUBSCRIBE) or write (PUBLISH), not 'rw'", run(auth, "-", "a", "rw"));
            assertEquals("Usage: mqtt:acl-check USER [CLIENTID] TOPIC read|write", run(auth, "a", "b"));
        } finally {
            auth.close();
        }
        // no file: nothing granted; with unmatched = next, left to the next authorizer
        AclAuthorizer none = new AclAuthorizer(dir.resolve("none"), true, Duration.ofSeconds(60));
        try {
            assertEquals(0, none.acl().size());
            assertEquals("NEXT (not granted, unmatched = next): PUBLISH to 'x' by user 'u', client id 'u' ("
                    + dir.resolve("none") + ")", run(none, "u", "x", "write"));
        } finally {
            none.close();
        }
        assertEquals("No ACL file authorizer is running (feature brokkr-auth-acl, etc/io.brokkr.auth.acl.cfg)",
                run(null, "u", "x", "write"));
    }
}
