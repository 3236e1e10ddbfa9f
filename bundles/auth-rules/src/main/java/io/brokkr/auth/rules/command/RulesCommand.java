package io.brokkr.auth.rules.command;

import io.brokkr.auth.rules.Rule;
import io.brokkr.auth.rules.RuleParseException;
import io.brokkr.auth.rules.RuleSet;
import io.brokkr.auth.rules.RulesAuthorizer;
import io.brokkr.auth.rules.RulesFile;
import java.nio.file.Path;
import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "rules",
        description = "Lists the rules in evaluation order (ascending priority, then file order) with their text")
public class RulesCommand implements Action {

    @Reference(optional = true)
    RulesAuthorizer authorizer;

    @Option(name = "-f", aliases = "--file",
            description = "Rules file to list (default: the rules in force, else etc/brokkr.rules)")
    String file;

    @Override
    public Object execute() throws Exception {
        Path target = RuleFiles.target(file, authorizer);
        RuleSet set;
        if (RuleFiles.inForce(target, authorizer)) {
            set = authorizer.rules();
            System.out.println("Rules in force from " + target + " (no rule deciding: "
                    + authorizer.noMatch().name().toLowerCase(java.util.Locale.ROOT) + ")");
            if (authorizer.lastError() != null) {
                System.out.println("The file does not load (" + authorizer.lastError()
                        + "): the rules below, read before, stay in force");
            }
        } else {
            try {
                set = new RuleSet(RulesFile.rules(target));
            } catch (RuleParseException e) {
                System.out.println("Rules file " + target + " does not parse: " + e.getMessage());
                return null;
            }
            System.out.println("Rules in " + target + " (not the authorizer's file)");
        }
        List<Rule> ordered = set.ordered();
        if (ordered.isEmpty()) {
            System.out.println("No rules");
            return null;
        }
        ShellTable table = new ShellTable();
        table.column("#").alignRight();
        table.column("Priority").alignRight();
        table.column("Name");
        table.column("Rule");
        int n = 0;
        for (Rule r : ordered) {
            table.addRow().addContent(++n, r.prioritized() ? String.valueOf(r.priority()) : "-", r.name(), r.text());
        }
        table.print(System.out);
        return null;
    }
}
