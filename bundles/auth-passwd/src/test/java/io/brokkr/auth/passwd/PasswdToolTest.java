package io.brokkr.auth.passwd;


import io.brokkr.broker.testing.Mosquitto;
import io.brokkr.broker.testing.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mosquitto_passwd has no verify mode: what PasswdTool writes is checked by the real mosquitto 2.0.11 reading it as
 * its password_file, with mosquitto_pub logging in.
 */
class PasswdToolTest {

    @TempDir
    Path dir;

    /** java -cp (this module's classes) io.brokkr.auth.passwd.PasswdTool args..., as a process. */
    Procs.Result tool(String... args) throws Exception {
        String classes = Path.of(PasswdTool.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
        String[] cmd = new String[args.length + 4];
        cmd[0] = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        cmd[1] = "-cp";
        cmd[2] = classes;
        cmd[3] = PasswdTool.class.getName();
        System.arraycopy(args, 0, cmd, 4, args.length);
        return Procs.run(cmd);
    }

    @Test
    void mosquittoAcceptsWhatThePasswdToolWrites() throws Exception {
        Path file = dir.resolve("pw");
        Procs.ok("mosquitto_passwd", "-c", "-b", file.toString(), "old", "o1d");
        Procs.Result r = tool(file.toString(), "alice", "s3cret");
        assertEquals(0, r.exit(), r.output());
        assertEquals(0, tool(file.toString(), "bob", "pässwörd €").exit());
        assertEquals(0, tool(file.toString(), "alice", "n3w").exit()); // replaced in place
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("old:$7$101$"));
        assertTrue(lines.get(1).matches("alice:\\$7\\$101\\$[A-Za-z0-9+/]{16}\\$[A-Za-z0-9+/]{86}=="), lines.get(1));

        try (Mosquitto m = Mosquitto.withPasswordFile(dir, file)) {
            assertEquals(0, m.pub("alice", "n3w").exit(), m.log());
            assertEquals(0, m.pub("bob", "pässwörd €").exit(), m.log());
            assertEquals(0, m.pub("old", "o1d").exit(), m.log());
            assertNotEquals(0, m.pub("alice", "s3cret").exit());
            assertNotEquals(0, m.pub("bob", "passwort").exit());
        }

        assertEquals(0, tool("-D", file.toString(), "bob").exit());
        assertEquals(1, tool("-D", file.toString(), "bob").exit());
        try (Mosquitto m = Mosquitto.withPasswordFile(dir, file)) {
            assertNotEquals(0, m.pub("bob", "pässwörd €").exit());
            assertEquals(0, m.pub("alice", "n3w").exit(), m.log());
        }
        assertEquals(1, tool(file.toString(), "a:b", "x").exit());
        assertEquals(2, tool(file.toString()).exit());
    }
}
