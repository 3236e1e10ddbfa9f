package io.brokkr.auth.rules.command;

import static io.brokkr.api.auth.Authorizer.Decision.ALLOW;
import static io.brokkr.api.auth.Authorizer.Decision.DENY;
import static io.brokkr.api.auth.Authorizer.Decision.NEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.auth.rules.RulesAuthorizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.apache.karaf.shell.api.action.Action;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mqtt:rules, mqtt:rule-add and mqtt:rule-remove on the file of a running authorizer whose reload interval is far
 * longer than the test, so that only the commands' own reload can put a change in force.
 */
class RuleCommandsTest {

    @TempDir
    Path dir;
    Path file;
    RulesAuthorizer auth;

    static final String HEAD = """
            # rules of the test
            DEFINE RULE Sensors WITH PRIORITY 5 FOR Publish TO TOPIC "sensors/#"
                IF USER IS "sensor" THEN ALLOW ELSE DENY   -- the issue's example
            """;

    @BeforeEach
    void start() throws Exception {
        file = dir.resolve("brokkr.rules");
        Files.writeString(file, HEAD);
        auth = new RulesAuthorizer(file, NEXT, Duration.ofHours(1));
    }

    @AfterEach
    void stop() {
        auth.close();
    }

    static String run(Action action) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            action.execute();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8).stripTrailing();
    }

    RuleAddCommand add(String rule, boolean replace) {
        RuleAddCommand c = new RuleAddCommand();
        c.authorizer = auth;
        c.rule = List.of(rule);
        c.replace = replace;
        return c;
    }

    RuleRemoveCommand remove(String name) {
        RuleRemoveCommand c = new RuleRemoveCommand();
        c.authorizer = auth;
        c.name = name;
        return c;
    }

    RulesCommand list() {
        RulesCommand c = new RulesCommand();
        c.authorizer = auth;
        return c;
    }

    static ConnectionContext user(String name, String... roles) {
        return (ConnectionContext) Proxy.newProxyInstance(RuleCommandsTest.class.getClassLoader(),
                new Class<?>[] {ConnectionContext.class}, (p, m, a) -> switch (m.getName()) {
                    case "username" -> name;
                    case "clientId" -> "c-" + name;
                    case "principal" -> BrokkrPrincipal.of(name, roles);
                    case "hasRole" -> List.of(roles).contains((String) a[0]);
                    case "attributes" -> new java.util.concurrent.ConcurrentHashMap<>();
                    default -> null;
                });
    }

    Object inode() throws Exception {
        return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
    }

    @Test
    void addListReplaceRemove() throws Exception {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        Object inode = inode();
        assertEquals(NEXT, auth.authorizeSubscribe(user("ops"), "sensors/#", 0));
        assertEquals("Added rule 'OpsRead' in " + file + ": in force", run(add(
                "DEFINE RULE OpsRead WITH PRIORITY 1 FOR Subscribe TO TOPIC \"sensors/#\" IF ROLE IS \"ops\" "
                        + "THEN ALLOW", false)));
        assertEquals(ALLOW, auth.authorizeSubscribe(user("ops", "ops"), "sensors/#", 0)); // at once
        assertNotEquals(inode, inode(), "written to a temporary file moved over the rules file");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                "the permissions the file had");
        assertEquals(HEAD + "DEFINE RULE OpsRead WITH PRIORITY 1 FOR Subscribe TO TOPIC \"sensors/#\" IF ROLE IS "
                + "\"ops\" THEN ALLOW\n", Files.readString(file));
        run(add("define rule Last for Publish, Subscribe then deny", false));

        String listed = run(list());
        System.out.println(listed);
        List<String> lines = listed.lines().toList();
        assertEquals("Rules in force from " + file + " (no rule deciding: next)", lines.get(0));
        assertTrue(lines.get(1).matches("\\s*#\\s*\\|\\s*Priority\\s*\\|\\s*Name\\s*\\|\\s*Rule\\s*"), lines.get(1));
        // evaluation order: priority 1, 5, none
        assertTrue(lines.get(3).matches("\\s*1 \\|\\s+1 \\| OpsRead\\s+\\| DEFINE RULE OpsRead WITH PRIORITY 1 FOR "
                + "Subscribe TO TOPIC \"sensors/#\" IF ROLE IS \"ops\" THEN ALLOW"), lines.get(3));
        assertTrue(lines.get(4).matches("\\s*2 \\|\\s+5 \\| Sensors\\s+\\| DEFINE RULE Sensors WITH PRIORITY 5 FOR "
                + "Publish TO TOPIC \"sensors/#\" IF USER IS \"sensor\" THEN ALLOW ELSE DENY"), lines.get(4));
        assertTrue(lines.get(5).matches("\\s*3 \\|\\s+- \\| Last\\s+\\| define rule Last for Publish, Subscribe "
                + "then deny"), lines.get(5));
        assertEquals(6, lines.size());

        // an existing name (any case) is refused without --replace, replaced in its place with it
        String before = Files.readString(file);
        assertEquals("Rule refused, a rule named 'OpsRead' exists already (line 4 of " + file + "): use --replace "
                + "to replace it: nothing changed", run(add("DEFINE RULE opsread FOR Subscribe THEN DENY", false)));
        assertEquals(before, Files.readString(file));
        assertEquals("Added or replaced rule 'OpsRead' in " + file + ": in force", run(add(
                "DEFINE RULE OpsRead WITH PRIORITY 1 FOR Subscribe TO TOPIC \"sensors/+/temp\" IF ROLE IS \"ops\" "
                        + "THEN ALLOW", true)));
        assertEquals(HEAD + "DEFINE RULE OpsRead WITH PRIORITY 1 FOR Subscribe TO TOPIC \"sensors/+/temp\" IF ROLE "
                + "IS \"ops\" THEN ALLOW\ndefine rule Last for Publish, Subscribe then deny\n", Files.readString(file));
        assertEquals(DENY, auth.authorizeSubscribe(user("ops", "ops"), "sensors/#", 0)); // now Last decides
        assertEquals(ALLOW, auth.authorizeSubscribe(user("ops", "ops"), "sensors/a/temp", 0));

        // remove: the rule and its line go, the rest stays as it was
        assertEquals("Removed rule 'OpsRead' from " + file, run(remove("OPSREAD")));
        assertEquals(HEAD + "define rule Last for Publish, Subscribe then deny\n", Files.readString(file));
        assertEquals(DENY, auth.authorizeSubscribe(user("ops", "ops"), "sensors/a/temp", 0));
        assertEquals("No rule 'OpsRead' in " + file, run(remove("OpsRead")));
        // a rule over several lines, with its comment after it on its last line
        assertEquals("Removed rule 'Sensors' from " + file, run(remove("Sensors")));
        assertEquals("# rules of the test\n   -- the issue's example\ndefine rule Last for Publish, Subscribe "
                + "then deny\n", Files.readString(file));
        assertEquals(1, auth.rules().size());
        assertNoTemporaryFiles();
    }

    @Test
    void aBadRuleIsRefusedWithItsPositionAndNothingChanges() throws Exception {
        String before = Files.readString(file);
        int loads = auth.loads();
        assertEquals("""
                Rule refused, line 1 column 45: expected ALLOW or DENY, got 'PERMIT': nothing changed
                  DEFINE RULE X FOR Publish TO TOPIC "a" THEN PERMIT
                                                              ^""",
                run(add("DEFINE RULE X FOR Publish TO TOPIC \"a\" THEN PERMIT", false)));
        assertEquals("Rule refused, line 1 column 38: invalid topic filter \"a/#/b\": '#' must be the last level of "
                + "a topic filter: nothing changed\n  DEFINE RULE X FOR Subscribe TO TOPIC \"a/#/b\" THEN ALLOW\n"
                + " ".repeat(39) + "^", run(add("DEFINE RULE X FOR Subscribe TO TOPIC \"a/#/b\" THEN ALLOW", false)));
        assertTrue(run(add("DEFINE RULE A FOR Publish THEN ALLOW DEFINE RULE B FOR Publish THEN DENY", false))
                .startsWith("Rule refused, line 1 column 38: expected the end of the rule (one rule at a time), got "
                        + "'DEFINE': nothing changed"));
        assertEquals(before, Files.readString(file));
        assertEquals(loads, auth.loads());

        // a file that does not parse is not changed by the commands
        Files.writeString(file, before + "DEFINE RULE Broken FOR\n");
        auth.reloadNow();
        String broken = Files.readString(file);
        assertEquals("Rule refused, the rules file " + file + " does not parse (line 5 column 1: expected Publish "
                + "or Subscribe, got end of input): fix it first: nothing changed",
                run(add("DEFINE RULE Y FOR Publish THEN ALLOW", false)));
        assertEquals("Nothing removed: the rules file " + file + " does not parse (line 5 column 1: expected "
                + "Publish or Subscribe, got end of input): fix it first", run(remove("Sensors")));
        assertEquals(broken, Files.readString(file));
        String listed = run(list());
        assertTrue(listed.contains("The file does not load (line 5 column 1: expected Publish or Subscribe, got end "
                + "of input): the rules below, read before, stay in force"), listed);
        assertTrue(listed.contains("| Sensors |"), listed);
        assertNoTemporaryFiles();
    }

    @Test
    void anotherFileAndOneThatDoesNotExistYet() throws Exception {
        Path other = dir.resolve("sub/other.rules");
        RuleAddCommand a = add("DEFINE RULE Z WITH PRIORITY 3 FOR Publish THEN DENY", false);
        a.file = other.toString();
        assertEquals("Added rule 'Z' in " + other, run(a)); // not the authorizer's file: nothing said about force
        assertEquals("DEFINE RULE Z WITH PRIORITY 3 FOR Publish THEN DENY\n", Files.readString(other));
        assertEquals(1, auth.rules().size());
        RulesCommand l = list();
        l.file = other.toString();
        String listed = run(l);
        assertTrue(listed.startsWith("Rules in " + other + " (not the authorizer's file)\n"), listed);
        assertTrue(listed.contains("| Z    | DEFINE RULE Z WITH PRIORITY 3 FOR Publish THEN DENY"), listed);
        RuleRemoveCommand r = remove("Z");
        r.file = other.toString();
        assertEquals("Removed rule 'Z' from " + other, run(r));
        assertEquals("", Files.readString(other));
        l = list();
        l.file = other.toString();
        assertTrue(run(l).endsWith("No rules"));
    }

    private void assertNoTemporaryFiles() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(file), s.toList());
        }
    }
}
