package io.brokkr.auth.rules.command;

import io.brokkr.auth.rules.RulesAuthorizer;
import java.util.List;

/** Runs the commands as the shell would, for tests outside this package; returns what they print. */
public final class RuleCommands {

    private RuleCommands() {
    }

    public static String add(RulesAuthorizer auth, String rule) throws Exception {
        RuleAddCommand c = new RuleAddCommand();
        c.authorizer = auth;
        c.rule = List.of(rule);
        return RuleCommandsTest.run(c);
    }

    public static String remove(RulesAuthorizer auth, String name) throws Exception {
        RuleRemoveCommand c = new RuleRemoveCommand();
        c.authorizer = auth;
        c.name = name;
        return RuleCommandsTest.run(c);
    }
}
