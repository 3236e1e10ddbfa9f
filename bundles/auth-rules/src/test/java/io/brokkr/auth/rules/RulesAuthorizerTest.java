package io.brokkr.auth.rules;

import static io.brokkr.api.auth.Authorizer.Decision.ALLOW;
import static io.brokkr.api.auth.Authorizer.Decision.DENY;
import static io.brokkr.api.auth.Authorizer.Decision.NEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.brokkr.broker.testing.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The authorizer and its file: no.match, re-reading a changed file, a broken or missing file keeping the rules. */
class RulesAuthorizerTest {

    static final Duration RELOAD = Duration.ofMillis(300);

    @TempDir
    Path dir;
    RulesAuthorizer auth;

    @AfterEach
    void close() {
        if (auth != null) {
            auth.close();
        }
    }

    @Test
    void noMatchAnswersWhenNoRuleDecides() throws Exception {
        Path file = dir.resolve("brokkr.rules");
        Files.writeString(file, "DEFINE RULE A FOR Publish TO TOPIC \"a\" IF USER IS \"u\" THEN ALLOW\n");
        for (var mode : new io.brokkr.api.auth.Authorizer.Decision[] {NEXT, DENY, ALLOW}) {
            RulesAuthorizer a = new RulesAuthorizer(file, mode, RELOAD);
            try {
                assertEquals(ALLOW, a.authorizePublish(Ctx.user("u"), "a", 0, false));
                assertEquals(mode, a.authorizePublish(Ctx.user("v"), "a", 0, false));
                assertEquals(mode, a.authorizeSubscribe(Ctx.user("u"), "a", 0));
            } finally {
                a.close();
            }
        }
        assertEquals(NEXT, RulesAuthorizer.noMatch("next"));
        assertEquals(DENY, RulesAuthorizer.noMatch(" Deny "));
        assertEquals(ALLOW, RulesAuthorizer.noMatch("ALLOW"));
        assertEquals(NEXT, RulesAuthorizer.noMatch("maybe")); // with a warning
    }

    @Test
    void aMissingFileMeansNoRulesUntilItAppears() throws Exception {
        Path file = dir.resolve("later.rules");
        auth = new RulesAuthorizer(file, DENY, RELOAD);
        assertEquals("no such file", auth.lastError());
        assertEquals(DENY, auth.authorizePublish(Ctx.user("u"), "a", 0, false));
        Files.writeString(file, "DEFINE RULE A FOR Publish THEN ALLOW\n");
        Procs.until(RELOAD.multipliedBy(20), "the new file read", () -> auth.loads() == 1);
        assertNull(auth.lastError());
        assertEquals(ALLOW, auth.authorizePublish(Ctx.user("u"), "a", 0, false));
    }

    @Test
    void aChangedFileIsReadAgainAndABrokenOneKeepsTheRules() throws Exception {
        Path file = dir.resolve("brokkr.rules");
        Files.writeString(file, """
                # who may write what
                DEFINE RULE Sensors WITH PRIORITY 1 FOR Publish TO TOPIC "sensors/#"
                    IF USER IS "sensor" THEN ALLOW ELSE DENY
                """);
        auth = new RulesAuthorizer(file, NEXT, RELOAD);
        assertEquals(1, auth.loads());
        assertEquals(ALLOW, auth.authorizePublish(Ctx.user("sensor"), "sensors/1", 0, false));
        assertEquals(DENY, auth.authorizePublish(Ctx.user("other"), "sensors/1", 0, false));

        // a rule added by an editor
        Files.writeString(file, """
                # who may write what
                DEFINE RULE Sensors WITH PRIORITY 1 FOR Publish TO TOPIC "sensors/#"
                    IF USER IS "sensor" THEN ALLOW ELSE DENY
                DEFINE RULE Other WITH PRIORITY 0 FOR Publish TO TOPIC "sensors/#" IF USER IS "other" THEN ALLOW
                """);
        Duration took = Procs.until(RELOAD.multipliedBy(20), "the changed file read", () -> auth.loads() == 2);
        System.out.println("rules file change seen after " + took.toMillis() + " ms (reload interval "
                + RELOAD.toMillis() + " ms)");
        assertEquals(ALLOW, auth.authorizePublish(Ctx.user("other"), "sensors/1", 0, false));

        // broken: the rules in force stay, the error says where and why
        Files.writeString(file, """
                # who may write what
                DEFINE RULE Sensors WITH PRIORITY 1 FOR Publish TO TOPIC "sensors/#"
                    IF USER IS "sensor" THEN ALLOW ELSE DENY
                DEFINE RULE Other WITH PRIORITY 0 FOR Publish TO TOPIC "sensors/#" IF USER IS other THEN ALLOW
                DEFINE RULE Third FOR Subscribe THEN DENY
                """);
        Procs.until(RELOAD.multipliedBy(20), "the broken file read", () -> auth.lastError() != null);
        assertEquals("line 4 column 79: expected a user name in double quotes, got 'other'", auth.lastError());
        assertEquals(2, auth.loads());
        assertEquals(2, auth.rules().size());
        assertEquals(ALLOW, auth.authorizePublish(Ctx.user("other"), "sensors/1", 0, false));
        assertEquals(NEXT, auth.authorizeSubscribe(Ctx.user("other"), "x", 0)); // Third is not in force

        // a duplicate name is an error too
        Files.writeString(file, "DEFINE RULE A FOR Publish THEN DENY\nDEFINE RULE a FOR Subscribe THEN DENY\n");
        Procs.until(RELOAD.multipliedBy(20), "the file with a duplicate read",
                () -> auth.lastError().startsWith("line 2"));
        assertEquals("line 2 column 13: a rule named 'A' is already defined at line 1", auth.lastError());
        assertEquals(ALLOW, auth.authorizePublish(Ctx.user("other"), "sensors/1", 0, false));

        // fixed: read again
        Files.writeString(file, "DEFINE RULE OnlyRule FOR Publish, Subscribe THEN DENY\n");
        Procs.until(RELOAD.multipliedBy(20), "the fixed file read", () -> auth.loads() == 3);
        assertNull(auth.lastError());
        assertEquals(DENY, auth.authorizePublish(Ctx.user("other"), "sensors/1", 0, false));
        assertEquals(DENY, auth.authorizeSubscribe(Ctx.user("other"), "x", 0));

        // deleted: the rules read before stay
        Files.delete(file);
        Procs.until(RELOAD.multipliedBy(20), "the deletion seen", () -> "no such file".equals(auth.lastError()));
        assertEquals(DENY, auth.authorizePublish(Ctx.user("other"), "sensors/1", 0, false));
    }
}
