package io.brokkr.auth.acl;

import static io.brokkr.auth.acl.AclFile.Verdict.DENIED;
import static io.brokkr.auth.acl.AclFile.Verdict.GRANTED;
import static io.brokkr.auth.acl.AclFile.Verdict.UNMATCHED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.brokkr.auth.acl.AclFile.Access;
import io.brokkr.auth.acl.AclFile.Rule;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The parser (good and bad lines) and the decisions of a file, as tables. */
class AclFileTest {

    static final String FILE = """
            # anonymous clients
            topic read public/#
            topic deny public/secret
              # an indented comment

            pattern read clients/%c/in
            pattern write clients/%c/out
            pattern readwrite users/%u/#
            pattern deny users/%u/locked
            pattern read shared/%u-%c

            user alice
            topic alice/#
            topic read  sensors/+/temp
            topic write sensors/alice/temp
            topic deny alice/private/#
            topic read $SYS/broker/#

            user bob
            topic readwrite bob/#
            topic read with space/x y

            user alice
            topic write extra/alice
            """;

    static AclFile acl() throws Exception {
        return AclFile.parse(FILE);
    }

    @Test
    void parsesSectionsAndAccessWords() throws Exception {
        AclFile a = acl();
        assertEquals(List.of(new Rule(Access.READ, "public/#", false, 2), new Rule(Access.DENY, "public/secret",
                false, 3)), a.anonymous);
        assertEquals(List.of("alice", "bob"), List.copyOf(a.users.keySet()));
        assertEquals(List.of(
                new Rule(Access.READWRITE, "alice/#", false, 13),
                new Rule(Access.READ, "sensors/+/temp", false, 14),
                new Rule(Access.WRITE, "sensors/alice/temp", false, 15),
                new Rule(Access.DENY, "alice/private/#", false, 16),
                new Rule(Access.READ, "$SYS/broker/#", false, 17),
                new Rule(Access.WRITE, "extra/alice", false, 24)), a.users.get("alice")); // two sections add up
        assertEquals(new Rule(Access.READ, "with space/x y", false, 21), a.users.get("bob").get(1));
        assertEquals(5, a.patterns.size());
        assertEquals(new Rule(Access.DENY, "users/%u/locked", true, 9), a.patterns.get(3));
        assertEquals(15, a.size());
    }

    @Test
    void mosquittoQuirksKept() throws Exception {
        // one word after the keyword is the topic, with readwrite access (Mosquitto reads it so)
        assertEquals(List.of(new Rule(Access.READWRITE, "read", false, 1)), AclFile.parse("topic read").anonymous);
        // the user name is the rest of the line
        assertEquals(List.of("my user"), List.copyOf(AclFile.parse("user my user \ntopic x").users.keySet()));
        // tabs separate like spaces; trailing blanks are dropped
        assertEquals(List.of(new Rule(Access.WRITE, "a/b", false, 1)), AclFile.parse("topic\twrite\ta/b  ").anonymous);
        assertEquals(0, AclFile.parse("\n# only comments\n   \n").size());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(value = {
        "topic|line 1: empty topic",
        "pattern   |line 1: empty topic",
        "user|line 1: missing user name",
        "topic reed a/b|line 1: invalid access type 'reed' (read, write, readwrite or deny)",
        "topic read a/#/b|line 1: invalid topic 'a/#/b': # must be the last level",
        "topic read a/b+|line 1: invalid topic 'a/b+': a wildcard (+ or #) must be the whole level",
        "pattern write x/%u#|line 1: invalid topic 'x/%u#': a wildcard (+ or #) must be the whole level",
        "topics read a|line 1: unknown keyword 'topics' (topic, pattern or user)",
        "Topic read a|line 1: unknown keyword 'Topic' (topic, pattern or user)",
        "allow a/b|line 1: unknown keyword 'allow' (topic, pattern or user)",
    }, delimiter = '|')
    void badLines(String line, String message) {
        AclFile.ParseException e = assertThrows(AclFile.ParseException.class, () -> AclFile.parse(line));
        assertEquals(message, e.getMessage());
        assertEquals(1, e.line());
    }

    @Test
    void theLineNumberCountsCommentsAndBlanks() {
        AclFile.ParseException e = assertThrows(AclFile.ParseException.class,
                () -> AclFile.parse("# c\n\nuser a\ntopic a/#\n  \ntopic deny\ntopic bogus a\n"));
        assertEquals(7, e.line());
    }

    /** user ("-" = anonymous), client id, topic, verdict of a PUBLISH. */
    @ParameterizedTest(name = "{0}/{1} publish {2}: {3}")
    @CsvSource({
        "-, c1, public/news, UNMATCHED",      // read only
        "-, c1, public/secret, DENIED",
        "-, c1, clients/c1/out, GRANTED",     // pattern %c
        "-, c1, clients/c2/out, UNMATCHED",
        "-, c1, users/x/a, UNMATCHED",        // %u: no user name, the pattern does not apply
        "alice, c1, alice/a/b, GRANTED",
        "alice, c1, alice, GRANTED",          // alice/# includes alice
        "alice, c1, alice/private/x, DENIED", // deny wins over alice/#
        "alice, c1, alice/private, DENIED",
        "alice, c1, sensors/alice/temp, GRANTED",
        "alice, c1, sensors/bob/temp, UNMATCHED",
        "alice, c1, extra/alice, GRANTED",    // the second alice section
        "alice, c1, users/alice/x, GRANTED",  // pattern %u
        "alice, c1, users/alice/locked, DENIED",
        "alice, c1, users/bob/x, UNMATCHED",
        "alice, c1, clients/c1/out, GRANTED",
        "alice, c1, public/news, UNMATCHED",  // the anonymous section is not alice's
        "bob, c2, bob/x, GRANTED",
        "bob, c2, alice/x, UNMATCHED",
        "carol, c3, carol/x, UNMATCHED",      // no section: only the patterns
        "carol, c3, users/carol/x, GRANTED",
        "'', c3, users//x, GRANTED",          // an empty user name is a user name
    })
    void publish(String user, String clientId, String topic, AclFile.Verdict expected) throws Exception {
        assertEquals(expected, acl().publish(user.equals("-") ? null : user, clientId, topic));
    }

    /** user ("-" = anonymous), client id, filter, verdict of a SUBSCRIBE. */
    @ParameterizedTest(name = "{0}/{1} subscribe {2}: {3}")
    @CsvSource({
        "-, c1, public/news, GRANTED",
        "-, c1, public/+, DENIED",            // could match public/secret
        "-, c1, public/#, DENIED",
        "-, c1, public/a/#, GRANTED",
        "-, c1, public/secret, DENIED",
        "-, c1, clients/c1/in, GRANTED",
        "-, c1, clients/+/in, UNMATCHED",     // more than c1's own
        "-, c1, clients/c1/out, UNMATCHED",   // write only
        "-, c1, #, DENIED",                   // meets public/secret
        "alice, c1, alice/#, DENIED",         // meets alice/private/#
        "alice, c1, alice/public/#, GRANTED",
        "alice, c1, alice/+, DENIED",         // matches alice/private
        "alice, c1, alice/public/+, GRANTED",
        "alice, c1, alice/+/x, DENIED",       // could match alice/private/x
        "alice, c1, sensors/+/temp, GRANTED",
        "alice, c1, sensors/#, UNMATCHED",
        "alice, c1, sensors/alice/+, UNMATCHED",
        "alice, c1, $SYS/broker/#, GRANTED",
        "alice, c1, $SYS/#, UNMATCHED",
        "alice, c1, $share/g/alice/public/x, GRANTED",
        "alice, c1, $share/g/bob/x, UNMATCHED",
        "alice, c1, users/alice/#, DENIED",   // meets users/alice/locked
        "alice, c1, users/alice/x/#, GRANTED",
        "alice, c1, shared/alice-c1, GRANTED", // %u and %c in one level
        "alice, c2, shared/alice-c1, UNMATCHED",
        "bob, c2, bob/#, GRANTED",
        "bob, c2, with space/x y, GRANTED",
    })
    void subscribe(String user, String clientId, String filter, AclFile.Verdict expected) throws Exception {
        assertEquals(expected, acl().subscribe(user.equals("-") ? null : user, clientId, filter));
    }

    /**
     * A client id or user name with + # or / is not substituted: grants that need it grant nothing, denies that
     * need it deny from that level down.
     */
    @ParameterizedTest(name = "{0}/{1} publish {2}: {3}")
    @CsvSource({
        "x, +, clients/+/out, UNMATCHED",
        "x, +, clients/other/out, UNMATCHED",
        "x, #, clients/#/out, UNMATCHED",
        "x, a/b, clients/a/b/out, UNMATCHED",
        "x, a/b, clients/a/out, UNMATCHED",
        "+, c, users/+/x, DENIED",            // pattern deny users/%u/locked becomes users/#
        "+, c, users/bob/x, DENIED",
        "#, c, users/anything, DENIED",
        "a/b, c, users/a/b/x, DENIED",
        "x, ok, clients/ok/out, GRANTED",
        "x, ok, users/x/y, GRANTED",
    })
    void dangerousSubstitutions(String user, String clientId, String topic, AclFile.Verdict expected)
            throws Exception {
        assertEquals(expected, acl().publish(user, clientId, topic));
    }

    @Test
    void aDenyPatternThatCannotBeSubstitutedDeniesFromItsLevelDown() throws Exception {
        AclFile a = AclFile.parse("pattern deny data/%u/secret\nuser a/b\ntopic readwrite data/#\n"
                + "topic other\nuser ok\ntopic readwrite data/#\n");
        assertEquals(DENIED, a.publish("a/b", "c", "data/a/b/secret"));
        assertEquals(DENIED, a.publish("a/b", "c", "data/x"));      // data/# denied for this user
        assertEquals(GRANTED, a.publish("a/b", "c", "other"));      // what is outside data/ stays granted
        assertEquals(DENIED, a.publish("ok", "c", "data/ok/secret"));
        assertEquals(GRANTED, a.publish("ok", "c", "data/a/b/secret"));
    }

    @Test
    void anEmptyFileGrantsNothing() throws Exception {
        assertEquals(UNMATCHED, AclFile.empty().publish(null, "c", "a"));
        assertEquals(UNMATCHED, AclFile.parse("").subscribe("u", "c", "#"));
    }
}
