package io.brokkr.auth.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.auth.Authorizer.Decision;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The rule language: what parses into what, and every error with its line, column and reason. */
class RuleParserTest {

    static final String ISSUE = "DEFINE RULE AllowSensors WITH PRIORITY 1 FOR Publish TO TOPIC \"sensors/#\" "
            + "IF USER IS \"sensor\" THEN ALLOW ELSE DENY";

    @Test
    void theIssuesExample() throws Exception {
        Rule r = RuleParser.parseOne(ISSUE);
        assertEquals("AllowSensors", r.name());
        assertEquals(1, r.priority());
        assertTrue(r.prioritized());
        assertEquals(Rule.PUBLISH, r.actions());
        assertEquals(1, r.filters().length);
        assertEquals("sensors/#", r.filters()[0].text());
        assertEquals(new Condition.UserIn(java.util.Set.of("sensor")), r.condition());
        assertEquals(Decision.ALLOW, r.then());
        assertEquals(Decision.DENY, r.otherwise());
        assertEquals(ISSUE, r.text());
        assertEquals(1, r.line());
        assertEquals(0, r.start());
        assertEquals(ISSUE.length(), r.end());
    }

    @Test
    void aFileOfRulesSpanningLinesWithCommentsAndAnyCase() throws Exception {
        String file = """
                # sensors write their own readings
                define rule Sensors with priority 10
                  for publish, Subscribe        -- both
                  to topic "sensors/%u/#", "status/%c"
                  if role is "sensor" and not (clientid starts with "test-" or address in ("10.9.0.0/16", "fd00::/8"))
                  then allow;

                DEFINE RULE Others FOR Subscribe THEN DENY
                DEFINE RULE Admins WITH PRIORITY 0 FOR Publish IF USER IN ("root", "admin") OR ANONYMOUS THEN ALLOW
                """;
        List<Rule> rules = RuleParser.parse(file);
        assertEquals(List.of("Sensors", "Others", "Admins"), rules.stream().map(Rule::name).toList());
        Rule s = rules.get(0);
        assertEquals(2, s.line());
        assertEquals(10, s.priority());
        assertEquals(Rule.PUBLISH | Rule.SUBSCRIBE, s.actions());
        assertEquals("define rule Sensors with priority 10 for publish, Subscribe to topic \"sensors/%u/#\", "
                + "\"status/%c\" if role is \"sensor\" and not (clientid starts with \"test-\" or address in "
                + "(\"10.9.0.0/16\", \"fd00::/8\")) then allow", s.text());
        assertNull(s.otherwise());
        assertTrue(s.condition() instanceof Condition.And);
        assertEquals(file.indexOf("define"), s.start());
        assertEquals(file.indexOf("allow;") + "allow;".length(), s.end()); // with its ';'
        Rule o = rules.get(1);
        assertEquals(Rule.DEFAULT_PRIORITY, o.priority());
        assertFalse(o.prioritized());
        assertEquals(0, o.filters().length);
        assertNull(o.condition());
        assertEquals(8, o.line());
        assertTrue(rules.get(2).condition() instanceof Condition.Or);
        // evaluation order: priority 0, 10, then the one without a priority
        assertEquals(List.of("Admins", "Sensors", "Others"),
                new RuleSet(rules).ordered().stream().map(Rule::name).toList());
    }

    @Test
    void emptyFilesAndFilesOfCommentsHaveNoRules() throws Exception {
        assertEquals(List.of(), RuleParser.parse(""));
        assertEquals(List.of(), RuleParser.parse("# nothing\n-- yet\n   \n"));
    }

    @Test
    void stringsEscapeQuotesAndBackslashesOnly() throws Exception {
        Rule r = RuleParser.parseOne("DEFINE RULE R FOR Publish IF CLIENTID MATCHES \"dev-\\d+\" OR USER IS "
                + "\"a\\\"b\\\\c\" THEN DENY");
        Condition.Or or = (Condition.Or) r.condition();
        assertEquals("dev-\\d+", ((Condition.ClientIdMatches) or.any()[0]).pattern().pattern());
        assertEquals(new Condition.UserIn(java.util.Set.of("a\"b\\c")), or.any()[1]);
    }

    @Test
    void notBindsTighterThanAndWhichBindsTighterThanOr() throws Exception {
        Rule r = RuleParser.parseOne("DEFINE RULE P FOR Publish IF NOT ANONYMOUS AND USER IS \"a\" OR "
                + "LISTENER IS \"l\" THEN ALLOW");
        Condition.Or or = (Condition.Or) r.condition();
        Condition.And and = (Condition.And) or.any()[0];
        assertTrue(and.all()[0] instanceof Condition.Not);
        assertTrue(or.any()[1] instanceof Condition.ListenerIn);
    }

    /** Each bad input, the line and column the error is reported at, and the reason. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            RULE X FOR Publish THEN ALLOW                                   | 1 | 1  | expected DEFINE, got 'RULE'
            DEFINE X FOR Publish THEN ALLOW                                 | 1 | 8  | expected RULE, got 'X'
            DEFINE RULE FOR Publish THEN ALLOW                              | 1 | 13 | expected a rule name, got the keyword 'FOR'
            DEFINE RULE "x" FOR Publish THEN ALLOW                          | 1 | 13 | expected a rule name, got string "x"
            DEFINE RULE 9x FOR Publish THEN ALLOW                           | 1 | 13 | expected a rule name, got number 9
            DEFINE RULE X Publish THEN ALLOW                                | 1 | 15 | expected WITH PRIORITY or FOR, got 'Publish'
            DEFINE RULE X WITH 1 FOR Publish THEN ALLOW                     | 1 | 20 | expected PRIORITY, got number 1
            DEFINE RULE X WITH PRIORITY high FOR Publish THEN ALLOW         | 1 | 29 | expected a priority number, got 'high'
            DEFINE RULE X WITH PRIORITY -1 FOR Publish THEN ALLOW           | 1 | 29 | unexpected character '-'
            DEFINE RULE X WITH PRIORITY 2147483648 FOR Publish THEN ALLOW   | 1 | 29 | a priority is a number from 0 to 2147483647, got 2147483648
            DEFINE RULE X WITH PRIORITY 1 Publish THEN ALLOW                | 1 | 31 | expected FOR, got 'Publish'
            DEFINE RULE X FOR Connect THEN ALLOW                            | 1 | 19 | expected Publish or Subscribe, got 'Connect'
            DEFINE RULE X FOR Publish, THEN ALLOW                           | 1 | 28 | expected Publish or Subscribe, got 'THEN'
            DEFINE RULE X FOR Publish TOPIC "a" THEN ALLOW                  | 1 | 27 | expected ',', TO TOPIC, IF or THEN, got 'TOPIC'
            DEFINE RULE X FOR Publish TO "a" THEN ALLOW                     | 1 | 30 | expected TOPIC, got string "a"
            DEFINE RULE X FOR Publish TO TOPIC a/b THEN ALLOW               | 1 | 36 | expected a topic filter in double quotes, got 'a'
            DEFINE RULE X FOR Publish TO TOPIC "a/#/b" THEN ALLOW           | 1 | 36 | invalid topic filter "a/#/b": '#' must be the last level of a topic filter
            DEFINE RULE X FOR Publish TO TOPIC "a/b+" THEN ALLOW            | 1 | 36 | invalid topic filter "a/b+": '+' and '#' must stand alone in a level of a topic filter (level 'b+')
            DEFINE RULE X FOR Publish TO TOPIC "" THEN ALLOW                | 1 | 36 | invalid topic filter "": a topic filter cannot be empty
            DEFINE RULE X FOR Publish TO TOPIC "$share/g/a" THEN ALLOW      | 1 | 36 | invalid topic filter "$share/g/a": a rule's topic filter cannot be a shared subscription ($share/...): give the filter alone, it applies to shared subscriptions too
            DEFINE RULE X FOR Publish TO TOPIC "a", THEN ALLOW              | 1 | 41 | expected a topic filter in double quotes, got 'THEN'
            DEFINE RULE X FOR Publish TO TOPIC "a" ALLOW                    | 1 | 40 | expected ',', IF or THEN, got 'ALLOW'
            DEFINE RULE X FOR Publish TO TOPIC "a" THEN                     | 1 | 44 | expected ALLOW or DENY, got end of input
            DEFINE RULE X FOR Publish THEN PERMIT                           | 1 | 32 | expected ALLOW or DENY, got 'PERMIT'
            DEFINE RULE X FOR Publish THEN ALLOW ELSE                       | 1 | 42 | expected ALLOW or DENY, got end of input
            DEFINE RULE X FOR Publish THEN ALLOW OTHERWISE DENY             | 1 | 38 | expected the end of the rule (ELSE, ';', DEFINE or the end of input), got 'OTHERWISE'
            DEFINE RULE X FOR Publish THEN ALLOW ELSE DENY DENY             | 1 | 48 | expected the end of the rule (';', DEFINE or the end of input), got 'DENY'
            DEFINE RULE X FOR Publish IF THEN ALLOW                         | 1 | 30 | expected a condition (USER, ROLE, CLIENTID, LISTENER, ADDRESS, ANONYMOUS, NOT or '('), got 'THEN'
            DEFINE RULE X FOR Publish IF USER "a" THEN ALLOW                | 1 | 35 | expected IS or IN, got string "a"
            DEFINE RULE X FOR Publish IF USER IS a THEN ALLOW               | 1 | 38 | expected a user name in double quotes, got 'a'
            DEFINE RULE X FOR Publish IF USER IN "a" THEN ALLOW             | 1 | 38 | expected '(' and a list of user names, got string "a"
            DEFINE RULE X FOR Publish IF USER IN ("a" "b") THEN ALLOW       | 1 | 43 | expected ',' or ')', got string "b"
            DEFINE RULE X FOR Publish IF USER IN () THEN ALLOW              | 1 | 39 | expected a user name in double quotes, got ')'
            DEFINE RULE X FOR Publish IF USER IS "a" USER IS "b" THEN ALLOW | 1 | 42 | expected AND, OR or THEN, got 'USER'
            DEFINE RULE X FOR Publish IF USER IS "a" AND THEN ALLOW         | 1 | 46 | expected a condition (USER, ROLE, CLIENTID, LISTENER, ADDRESS, ANONYMOUS, NOT or '('), got 'THEN'
            DEFINE RULE X FOR Publish IF (USER IS "a" THEN ALLOW            | 1 | 43 | expected AND, OR or ')', got 'THEN'
            DEFINE RULE X FOR Publish IF USER IS "a") THEN ALLOW            | 1 | 41 | expected AND, OR or THEN, got ')'
            DEFINE RULE X FOR Publish IF GROUP IS "a" THEN ALLOW            | 1 | 30 | expected a condition (USER, ROLE, CLIENTID, LISTENER, ADDRESS, ANONYMOUS, NOT or '('), got 'GROUP'
            DEFINE RULE X FOR Publish IF ROLE = "a" THEN ALLOW              | 1 | 35 | unexpected character '='
            DEFINE RULE X FOR Publish IF CLIENTID LIKE "a%" THEN ALLOW      | 1 | 39 | expected IS, IN, STARTS WITH or MATCHES, got 'LIKE'
            DEFINE RULE X FOR Publish IF CLIENTID STARTS "a" THEN ALLOW     | 1 | 46 | expected WITH, got string "a"
            DEFINE RULE X FOR Publish IF CLIENTID MATCHES "dev-[0-9" THEN ALLOW | 1 | 47 | invalid regular expression "dev-[0-9": Unclosed character class near index 7
            DEFINE RULE X FOR Publish IF ADDRESS IS "10.0.0.0/8" THEN ALLOW | 1 | 41 | ADDRESS IS takes one address, without a prefix length (for a block: ADDRESS IN "10.0.0.0/8")
            DEFINE RULE X FOR Publish IF ADDRESS "10.0.0.1" THEN ALLOW      | 1 | 38 | expected IS or IN, got string "10.0.0.1"
            DEFINE RULE X FOR Publish IF ADDRESS IN 10 THEN ALLOW           | 1 | 41 | expected an address block ("10.0.0.0/8") or a list of them in parentheses, got number 10
            DEFINE RULE X FOR Publish IF ADDRESS IN "10.0.0.0/33" THEN ALLOW | 1 | 41 | invalid address block: '10.0.0.0/33': the prefix length of an IPv4 block is at most 32
            DEFINE RULE X FOR Publish IF ADDRESS IN "10.0.0.256/8" THEN ALLOW | 1 | 41 | invalid address block: '10.0.0.256': 256 is not an IPv4 octet (0-255)
            DEFINE RULE X FOR Publish IF ADDRESS IN "10.0/8" THEN ALLOW     | 1 | 41 | invalid address block: '10.0' is not an IPv4 or IPv6 address
            DEFINE RULE X FOR Publish IF ADDRESS IN "fd00::/129" THEN ALLOW | 1 | 41 | invalid address block: 'fd00::/129': the prefix length of an IPv6 block is at most 128
            DEFINE RULE X FOR Publish IF ADDRESS IN "fd00:::1/64" THEN ALLOW | 1 | 41 | invalid address block: 'fd00:::1' is not an IPv6 address
            DEFINE RULE X FOR Publish IF ADDRESS IN "localhost" THEN ALLOW  | 1 | 41 | invalid address block: 'localhost' is not an IPv4 or IPv6 address
            DEFINE RULE X FOR Publish IF ADDRESS IN "10.0.0.0/x" THEN ALLOW | 1 | 41 | invalid address block: '10.0.0.0/x': the prefix length after '/' must be a number
            DEFINE RULE X FOR Publish IF ADDRESS IN "::ffff:10.0.0.0/64" THEN ALLOW | 1 | 41 | invalid address block: '::ffff:10.0.0.0/64': an IPv4-mapped block needs a prefix length of at least 96
            DEFINE RULE X FOR Publish IF USER IS "a THEN ALLOW              | 1 | 38 | unterminated string (a string ends with '"' on its line)
            DEFINE RULE X FOR Publish THEN ALLOW @                          | 1 | 38 | unexpected character '@'
            DEFINE RULE X FOR Publish IF NOT THEN ALLOW                     | 1 | 34 | expected a condition (USER, ROLE, CLIENTID, LISTENER, ADDRESS, ANONYMOUS, NOT or '('), got 'THEN'
            """)
    void badRules(String text, int line, int column, String reason) {
        RuleParseException e = assertThrows(RuleParseException.class, () -> RuleParser.parse(text.strip()));
        assertEquals(reason, e.reason(), text);
        assertEquals(line, e.line(), text);
        assertEquals(column, e.column(), text);
        assertEquals("line " + line + " column " + column + ": " + reason, e.getMessage());
    }

    @Test
    void errorsAreReportedAtTheirLineInAFile() {
        String file = """
                # rules
                DEFINE RULE A FOR Publish TO TOPIC "a/#" THEN ALLOW

                DEFINE RULE B
                   WITH PRIORITY 2
                   FOR Subscribe
                   IF USER IS "x"
                   THEN DENY ELSE PERHAPS
                DEFINE RULE C FOR Publish TO TOPIC "unterminated THEN ALLOW
                """;
        RuleParseException e = assertThrows(RuleParseException.class, () -> RuleParser.parse(file));
        // the first error in the text is the one reported, not a later one (the string on line 9)
        assertEquals("line 8 column 19: expected ALLOW or DENY, got 'PERHAPS'", e.getMessage());
    }

    @Test
    void ruleNamesAreUniqueIgnoringCase() {
        RuleParseException e = assertThrows(RuleParseException.class, () -> RuleParser.parse(
                "DEFINE RULE Sensors FOR Publish THEN ALLOW\n\n  DEFINE RULE SENSORS FOR Subscribe THEN DENY\n"));
        assertEquals("line 3 column 15: a rule named 'Sensors' is already defined at line 1", e.getMessage());
    }

    @Test
    void oneRuleAtATimeForTheCommand() throws Exception {
        RuleParseException e = assertThrows(RuleParseException.class, () -> RuleParser.parseOne(
                "DEFINE RULE A FOR Publish THEN ALLOW; DEFINE RULE B FOR Publish THEN DENY"));
        assertEquals("line 1 column 39: expected the end of the rule (one rule at a time), got 'DEFINE'",
                e.getMessage());
        e = assertThrows(RuleParseException.class, () -> RuleParser.parseOne("  # only a comment"));
        assertEquals("line 1 column 19: expected DEFINE, got end of input", e.getMessage());
        assertEquals("A", RuleParser.parseOne("  DEFINE RULE A FOR Publish THEN ALLOW; # a comment").name());
    }
}
