package io.brokkr.auth.rules;

import static io.brokkr.api.auth.Authorizer.Decision.ALLOW;
import static io.brokkr.api.auth.Authorizer.Decision.DENY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.auth.Authorizer.Decision;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a set of rules decides: priority order and ties, THEN / ELSE / no ELSE, every condition, CIDR blocks of both
 * families, filter coverage for subscriptions, placeholders; and a rough speed figure.
 */
class RuleEvaluationTest {

    static RuleSet rules(String text) throws RuleParseException {
        return new RuleSet(RuleParser.parse(text));
    }

    @Test
    void theIssuesExample() throws Exception {
        RuleSet s = rules(RuleParserTest.ISSUE);
        assertEquals(ALLOW, s.publish(Ctx.user("sensor"), "sensors/t1"));
        assertEquals(DENY, s.publish(Ctx.user("other"), "sensors/t1"));
        assertEquals(DENY, s.publish(new Ctx(), "sensors")); // anonymous: USER IS is false, ELSE DENY
        assertNull(s.publish(Ctx.user("sensor"), "other/t1")); // the topic does not match: no rule decides
        assertNull(s.subscribe(Ctx.user("sensor"), "sensors/#")); // a Publish rule
    }

    @Test
    void ascendingPriorityThenDefinitionOrder() throws Exception {
        RuleSet s = rules("""
                DEFINE RULE Late FOR Publish THEN DENY
                DEFINE RULE Second WITH PRIORITY 5 FOR Publish TO TOPIC "a/#" THEN DENY
                DEFINE RULE First WITH PRIORITY 1 FOR Publish TO TOPIC "a/b" THEN ALLOW
                DEFINE RULE TieA WITH PRIORITY 7 FOR Publish TO TOPIC "c" THEN ALLOW
                DEFINE RULE TieB WITH PRIORITY 7 FOR Publish TO TOPIC "c" THEN DENY
                DEFINE RULE Zero WITH PRIORITY 0 FOR Publish TO TOPIC "z" THEN ALLOW
                """);
        assertEquals(List.of("Zero", "First", "Second", "TieA", "TieB", "Late"),
                s.ordered().stream().map(Rule::name).toList());
        Ctx c = Ctx.user("u");
        assertEquals(ALLOW, s.publish(c, "a/b")); // First (1) before Second (5)
        assertEquals(DENY, s.publish(c, "a/c")); // Second
        assertEquals(ALLOW, s.publish(c, "c")); // TieA, defined first
        assertEquals(ALLOW, s.publish(c, "z"));
        assertEquals(DENY, s.publish(c, "anything")); // Late, no priority: after all the others
    }

    @Test
    void elseDecidesAndNoElseGoesOn() throws Exception {
        RuleSet s = rules("""
                DEFINE RULE A WITH PRIORITY 1 FOR Publish TO TOPIC "x/#" IF USER IS "alice" THEN ALLOW
                DEFINE RULE B WITH PRIORITY 2 FOR Publish TO TOPIC "x/#" IF USER IS "bob" THEN DENY ELSE ALLOW
                DEFINE RULE C WITH PRIORITY 3 FOR Publish TO TOPIC "x/#" THEN DENY
                DEFINE RULE D WITH PRIORITY 4 FOR Publish TO TOPIC "y/#" IF USER IS "alice" THEN DENY
                """);
        assertEquals(ALLOW, s.publish(Ctx.user("alice"), "x/1")); // A: THEN
        assertEquals(DENY, s.publish(Ctx.user("bob"), "x/1")); // A: false, no ELSE, on to B: THEN
        assertEquals(ALLOW, s.publish(Ctx.user("carol"), "x/1")); // B: ELSE; C never reached
        assertEquals(DENY, s.publish(Ctx.user("alice"), "y/1")); // D
        assertNull(s.publish(Ctx.user("bob"), "y/1")); // D false without ELSE: nobody decides
    }

    @Test
    void actions() throws Exception {
        RuleSet s = rules("""
                DEFINE RULE P FOR Publish TO TOPIC "p" THEN ALLOW
                DEFINE RULE S FOR subscribe TO TOPIC "s" THEN DENY
                DEFINE RULE B FOR PUBLISH, Subscribe TO TOPIC "b" THEN DENY
                """);
        Ctx c = Ctx.user("u");
        assertEquals(ALLOW, s.publish(c, "p"));
        assertNull(s.subscribe(c, "p"));
        assertEquals(DENY, s.subscribe(c, "s"));
        assertNull(s.publish(c, "s"));
        assertEquals(DENY, s.publish(c, "b"));
        assertEquals(DENY, s.subscribe(c, "b"));
    }

    record Case(String condition, Ctx context, boolean expected) {
    }

    @Test
    void conditions() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("USER IS \"alice\"", Ctx.user("alice"), true));
        cases.add(new Case("USER IS \"alice\"", Ctx.user("Alice"), false)); // values are case-sensitive
        cases.add(new Case("USER IS \"alice\"", new Ctx(), false));
        cases.add(new Case("USER IN (\"a\", \"b\")", Ctx.user("b"), true));
        cases.add(new Case("USER IN (\"a\", \"b\")", Ctx.user("c"), false));
        cases.add(new Case("ROLE IS \"admin\"", Ctx.user("x").roles("admin", "ops"), true));
        cases.add(new Case("ROLE IS \"admin\"", Ctx.user("x").roles("ops"), false));
        cases.add(new Case("ROLE IS \"admin\"", Ctx.user("admin"), false)); // no principal: no roles
        cases.add(new Case("ROLE IN (\"a\", \"ops\")", Ctx.user("x").roles("ops"), true));
        cases.add(new Case("CLIENTID IS \"c1\"", new Ctx().client("c1"), true));
        cases.add(new Case("CLIENTID IS \"c1\"", new Ctx().client("c10"), false));
        cases.add(new Case("CLIENTID IN (\"c1\", \"c2\")", new Ctx().client("c2"), true));
        cases.add(new Case("CLIENTID STARTS WITH \"dev-\"", new Ctx().client("dev-17"), true));
        cases.add(new Case("CLIENTID STARTS WITH \"dev-\"", new Ctx().client("xdev-17"), false));
        cases.add(new Case("CLIENTID MATCHES \"dev-[0-9]+\"", new Ctx().client("dev-17"), true));
        cases.add(new Case("CLIENTID MATCHES \"dev-[0-9]+\"", new Ctx().client("dev-17x"), false)); // whole id
        cases.add(new Case("CLIENTID MATCHES \"dev-\\d+\"", new Ctx().client("dev-3"), true));
        cases.add(new Case("LISTENER IS \"tls\"", new Ctx().listener("tls"), true));
        cases.add(new Case("LISTENER IS \"tls\"", new Ctx().listener("tcp"), false));
        cases.add(new Case("LISTENER IN (\"ws\", \"wss\")", new Ctx().listener("wss"), true));
        cases.add(new Case("ANONYMOUS", new Ctx(), true));
        cases.add(new Case("ANONYMOUS", Ctx.user("a"), false));
        cases.add(new Case("ANONYMOUS", new Ctx().roles("device"), false)); // a principal without a user name
        cases.add(new Case("NOT ANONYMOUS", Ctx.user("a"), true));
        cases.add(new Case("USER IS \"a\" AND LISTENER IS \"tls\"", Ctx.user("a").listener("tls"), true));
        cases.add(new Case("USER IS \"a\" AND LISTENER IS \"tls\"", Ctx.user("a").listener("tcp"), false));
        cases.add(new Case("USER IS \"a\" OR LISTENER IS \"tls\"", Ctx.user("b").listener("tls"), true));
        cases.add(new Case("USER IS \"a\" OR LISTENER IS \"tls\"", Ctx.user("b").listener("tcp"), false));
        // NOT > AND > OR
        cases.add(new Case("USER IS \"a\" OR USER IS \"b\" AND LISTENER IS \"tls\"", Ctx.user("a"), true));
        cases.add(new Case("(USER IS \"a\" OR USER IS \"b\") AND LISTENER IS \"tls\"", Ctx.user("a"), false));
        cases.add(new Case("NOT USER IS \"a\" AND NOT USER IS \"b\"", Ctx.user("c"), true));
        cases.add(new Case("NOT (USER IS \"a\" OR USER IS \"b\")", Ctx.user("b"), false));
        cases.add(new Case("NOT NOT USER IS \"b\"", Ctx.user("b"), true));
        // CIDR, IPv4
        cases.add(new Case("ADDRESS IN \"10.0.0.0/8\"", new Ctx().address("10.200.3.4"), true));
        cases.add(new Case("ADDRESS IN \"10.0.0.0/8\"", new Ctx().address("11.0.0.1"), false));
        cases.add(new Case("ADDRESS IN \"192.168.1.128/25\"", new Ctx().address("192.168.1.200"), true));
        cases.add(new Case("ADDRESS IN \"192.168.1.128/25\"", new Ctx().address("192.168.1.127"), false));
        cases.add(new Case("ADDRESS IN \"10.1.2.3\"", new Ctx().address("10.1.2.3"), true)); // a block of one
        cases.add(new Case("ADDRESS IN \"10.1.2.3/32\"", new Ctx().address("10.1.2.4"), false));
        cases.add(new Case("ADDRESS IN \"0.0.0.0/0\"", new Ctx().address("203.0.113.9"), true));
        cases.add(new Case("ADDRESS IN \"0.0.0.0/0\"", new Ctx().address("2001:db8::1"), false)); // IPv4 only
        cases.add(new Case("ADDRESS IN \"255.255.255.255/32\"", new Ctx().address("255.255.255.255"), true));
        cases.add(new Case("ADDRESS IS \"127.0.0.1\"", new Ctx(), true));
        cases.add(new Case("ADDRESS IN (\"10.0.0.0/8\", \"172.16.0.0/12\")", new Ctx().address("172.31.0.1"), true));
        cases.add(new Case("ADDRESS IN (\"10.0.0.0/8\", \"172.16.0.0/12\")", new Ctx().address("172.32.0.1"),
                false));
        // CIDR, IPv6 (a prefix inside the upper half, across the halves, in the lower half)
        cases.add(new Case("ADDRESS IN \"2001:db8::/32\"", new Ctx().address("2001:db8:ffff::1"), true));
        cases.add(new Case("ADDRESS IN \"2001:db8::/32\"", new Ctx().address("2001:db9::1"), false));
        cases.add(new Case("ADDRESS IN \"2001:db8:0:0:8000::/65\"", new Ctx().address("2001:db8::8000:0:0:1"),
                true));
        cases.add(new Case("ADDRESS IN \"2001:db8:0:0:8000::/65\"", new Ctx().address("2001:db8::7fff:0:0:1"),
                false));
        cases.add(new Case("ADDRESS IN \"fe80::1:0/112\"", new Ctx().address("fe80::1:abcd"), true));
        cases.add(new Case("ADDRESS IN \"fe80::1:0/112\"", new Ctx().address("fe80::2:abcd"), false));
        cases.add(new Case("ADDRESS IS \"::1\"", new Ctx().address("::1"), true));
        cases.add(new Case("ADDRESS IN \"::/0\"", new Ctx().address("::2"), true));
        cases.add(new Case("ADDRESS IN \"::/0\"", new Ctx().address("10.0.0.1"), false)); // IPv6 only
        cases.add(new Case("ADDRESS IN \"2001:db8::/32\"", new Ctx().address("10.0.0.1"), false));
        // an IPv4-mapped block is the IPv4 block, and a mapped client address the IPv4 address
        cases.add(new Case("ADDRESS IN \"::ffff:10.0.0.0/104\"", new Ctx().address("10.9.9.9"), true));
        cases.add(new Case("ADDRESS IN \"10.0.0.0/8\"", new Ctx().address("::ffff:10.9.9.9"), true));
        int n = 0;
        for (Case k : cases) {
            RuleSet s = rules("DEFINE RULE R FOR Publish IF " + k.condition() + " THEN ALLOW ELSE DENY");
            Decision expected = k.expected() ? ALLOW : DENY;
            assertEquals(expected, s.publish(k.context(), "t"), k.condition() + " with " + k.context());
            assertEquals(expected, s.publish(k.context(), "t"), "again (the cached address): " + k.condition());
            n++;
        }
        assertTrue(n > 50);
    }

    @Test
    void subscriptionsNeedFiltersTheRuleCovers() throws Exception {
        RuleSet s = rules("""
                DEFINE RULE Read WITH PRIORITY 1 FOR Subscribe TO TOPIC "sensors/+/temp", "alerts/#" THEN ALLOW
                DEFINE RULE Rest WITH PRIORITY 2 FOR Subscribe THEN DENY
                """);
        Ctx c = Ctx.user("u");
        assertEquals(ALLOW, s.subscribe(c, "sensors/a/temp"));
        assertEquals(ALLOW, s.subscribe(c, "sensors/+/temp"));
        assertEquals(DENY, s.subscribe(c, "sensors/#")); // would also get sensors/a/humidity
        assertEquals(DENY, s.subscribe(c, "sensors/+/+"));
        assertEquals(DENY, s.subscribe(c, "#"));
        assertEquals(ALLOW, s.subscribe(c, "alerts/#"));
        assertEquals(ALLOW, s.subscribe(c, "alerts/x/+"));
        assertEquals(ALLOW, s.subscribe(c, "alerts"));
        // a shared subscription is judged by its filter
        assertEquals(ALLOW, s.subscribe(c, "$share/g1/sensors/+/temp"));
        assertEquals(DENY, s.subscribe(c, "$share/g1/sensors/#"));
    }

    @Test
    void placeholdersInRules() throws Exception {
        RuleSet s = rules("""
                DEFINE RULE Own WITH PRIORITY 1 FOR Publish, Subscribe TO TOPIC "users/%u/#", "clients/%c/#" THEN ALLOW
                DEFINE RULE Rest WITH PRIORITY 2 FOR Publish, Subscribe THEN DENY
                """);
        assertEquals(ALLOW, s.publish(Ctx.user("alice").client("c1"), "users/alice/x"));
        assertEquals(ALLOW, s.publish(Ctx.user("alice").client("c1"), "clients/c1/x"));
        assertEquals(DENY, s.publish(Ctx.user("alice").client("c1"), "users/bob/x"));
        assertEquals(ALLOW, s.subscribe(Ctx.user("alice").client("c1"), "users/alice/#"));
        assertEquals(DENY, s.subscribe(Ctx.user("alice").client("c1"), "users/+/#"));
        // a user name with a wildcard or a '/' never matches a %u rule, whatever the topic
        assertEquals(DENY, s.subscribe(Ctx.user("+").client("c1"), "users/+/#"));
        assertEquals(DENY, s.subscribe(Ctx.user("#").client("c1"), "users/#"));
        assertEquals(DENY, s.publish(Ctx.user("a/b").client("c1"), "users/a/b/x"));
        assertEquals(DENY, s.publish(new Ctx().client("c+"), "clients/c+/x"));
        assertEquals(DENY, s.publish(new Ctx().client("c1"), "users//x")); // no user name
        assertEquals(ALLOW, s.publish(new Ctx().client("c1"), "clients/c1/x")); // %c needs no user name
    }

    @Test
    void dollarTopicsAreNotMatchedByLeadingWildcards() throws Exception {
        RuleSet s = rules("""
                DEFINE RULE Everything WITH PRIORITY 1 FOR Subscribe TO TOPIC "#" THEN ALLOW
                DEFINE RULE Sys WITH PRIORITY 2 FOR Subscribe TO TOPIC "$SYS/#" IF ROLE IS "admin" THEN ALLOW ELSE DENY
                """);
        assertEquals(ALLOW, s.subscribe(Ctx.user("u"), "a/b"));
        assertEquals(DENY, s.subscribe(Ctx.user("u"), "$SYS/broker/uptime"));
        assertEquals(ALLOW, s.subscribe(Ctx.user("u").roles("admin"), "$SYS/#"));
    }

    /**
     * A rough speed figure for README: 100 rules of every kind whose topic filters all match (so each condition is
     * evaluated, and is false), the deciding one last, asked from one thread after a warm-up. The speed is printed,
     * not asserted (the machine is shared); asserted are the decisions and that a check allocates nothing (less than
     * a byte per check on average, which leaves room for the measurement itself).
     */
    @Test
    void speed() throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 99; i++) {
            String cond = switch (i % 6) {
                case 0 -> "USER IN (\"x" + i + "\", \"y" + i + "\")";
                case 1 -> "ROLE IS \"r" + i + "\" AND NOT ANONYMOUS";
                case 2 -> "CLIENTID MATCHES \"dev-" + i + "-[0-9]+\"";
                case 3 -> "ADDRESS IN (\"10." + i + ".0.0/16\", \"2001:db8:" + i + "::/48\")";
                case 4 -> "CLIENTID STARTS WITH \"p" + i + "\" OR LISTENER IS \"l" + i + "\"";
                default -> "USER IS \"u" + i + "\"";
            };
            String topic = i % 3 == 0 ? "site/+/+/#" : i % 3 == 1 ? "site/%u/#" : "site/#";
            b.append("DEFINE RULE R").append(i).append(" WITH PRIORITY ").append(i)
                    .append(" FOR Publish, Subscribe TO TOPIC \"other/").append(i).append("/#\", \"").append(topic)
                    .append("\" IF ").append(cond).append(" THEN ALLOW\n");
        }
        b.append("DEFINE RULE Last WITH PRIORITY 1000 FOR Publish, Subscribe TO TOPIC \"site/#\" THEN DENY\n");
        RuleSet s = rules(b.toString());
        Ctx c = Ctx.user("alice").client("dev-2-23x").address("192.168.7.7");
        c.roles("other");
        String topic = "site/alice/dev200/temp";
        assertEquals(DENY, s.publish(c, topic));
        assertEquals(DENY, s.subscribe(c, "site/alice/+/temp"));
        run(s, c, topic, 1_000_000_000L); // warm-up
        long[] checks = new long[1];
        double seconds = run(s, c, topic, 2_000_000_000L, checks);
        System.out.printf("rules speed: %d rules, %.0f checks/s, %.0f rule evaluations/s (%.2f us per check)%n",
                s.size(), checks[0] / seconds, checks[0] * s.size() / seconds, seconds * 1e6 / checks[0]);

        // nothing allocated per check, once warm (the heap bytes this thread allocated over 100,000 checks)
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        Decision d = null;
        for (int i = 0; i < 100_000; i++) {
            d = (i & 1) == 0 ? s.publish(c, topic) : s.subscribe(c, "site/alice/+/temp");
        }
        long allocated = threads.getThreadAllocatedBytes(tid) - before;
        assertEquals(DENY, d);
        System.out.println("rules allocation: " + allocated + " bytes over 100000 checks");
        assertTrue(allocated < 100_000, allocated + " bytes allocated over 100,000 checks");
    }

    private static double run(RuleSet s, Ctx c, String topic, long nanos, long... count) {
        long checks = 0;
        long start = System.nanoTime();
        long end = start + nanos;
        Decision d = null;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 1000; i++) {
                d = (i & 1) == 0 ? s.publish(c, topic) : s.subscribe(c, "site/alice/+/temp");
            }
            checks += 1000;
        }
        assertEquals(DENY, d);
        if (count.length > 0) {
            count[0] = checks;
        }
        return (System.nanoTime() - start) / 1e9;
    }
}
