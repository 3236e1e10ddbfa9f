package io.brokkr.auth.rules.command;

import io.brokkr.auth.rules.Rule;
import io.brokkr.auth.rules.RuleParseException;
import io.brokkr.auth.rules.RulesAuthorizer;
import io.brokkr.auth.rules.RulesFile;
import java.nio.file.Path;
import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "rule-add",
        description = "Adds a rule to the rules file (parsed first: a bad rule is refused and nothing changes); "
                + "the authorizer applies it at once. Quote it whole: mqtt:rule-add 'DEFINE RULE r FOR Publish TO "
                + "TOPIC \"a/#\" THEN ALLOW'")
public class RuleAddCommand implements Action {

    @Reference(optional = true)
    RulesAuthorizer authorizer;

    @Option(name = "-f", aliases = "--file",
            description = "Rules file (default: the file of etc/io.brokkr.auth.rules.cfg, else etc/brokkr.rules)")
    String file;

    @Option(name = "-r", aliases = "--replace", description = "Replace the rule of the same name, in its place")
    boolean replace;

    @Argument(index = 0, name = "rule", required = true, multiValued = true,
            description = "The rule: DEFINE RULE name [WITH PRIORITY n] FOR action [TO TOPIC \"filter\"] "
                    + "[IF condition] THEN ALLOW|DENY [ELSE ALLOW|DENY] (several arguments are joined with spaces)")
    List<String> rule;

    @Override
    public Object execute() throws Exception {
        String text = String.join(" ", rule);
        Path target = RuleFiles.target(file, authorizer);
        Rule added;
        try {
            added = RulesFile.add(target, text, replace);
        } catch (RuleParseException e) {
            System.out.println("Rule refused, " + e.getMessage() + ": nothing changed");
            System.out.println("  " + text.replace('\n', ' '));
            if (e.line() == 1 && text.indexOf('\n') < 0) {
                System.out.println("  " + " ".repeat(e.column() - 1) + "^");
            }
            return null;
        } catch (RulesFile.RefusedException e) {
            System.out.println("Rule refused, " + e.getMessage() + ": nothing changed");
            return null;
        }
        RuleFiles.reload(target, authorizer);
        System.out.println((replace ? "Added or replaced" : "Added") + " rule '" + added.name() + "' in " + target
                + (RuleFiles.inForce(target, authorizer) ? inForce() : ""));
        return null;
    }

    private String inForce() {
        String err = authorizer.lastError();
        return err == null ? ": in force" : ": NOT in force, the file does not load: " + err;
    }
}
