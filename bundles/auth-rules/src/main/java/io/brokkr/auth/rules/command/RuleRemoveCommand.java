package io.brokkr.auth.rules.command;

import io.brokkr.auth.rules.Rule;
import io.brokkr.auth.rules.RulesAuthorizer;
import io.brokkr.auth.rules.RulesFile;
import java.nio.file.Path;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "rule-remove",
        description = "Removes a rule from the rules file; the authorizer applies the change at once")
public class RuleRemoveCommand implements Action {

    @Reference(optional = true)
    RulesAuthorizer authorizer;

    @Option(name = "-f", aliases = "--file",
            description = "Rules file (default: the file of etc/io.brokkr.auth.rules.cfg, else etc/brokkr.rules)")
    String file;

    @Argument(index = 0, name = "name", required = true, description = "The rule's name (case does not matter)")
    String name;

    @Override
    public Object execute() throws Exception {
        Path target = RuleFiles.target(file, authorizer);
        Rule removed;
        try {
            removed = RulesFile.remove(target, name);
        } catch (RulesFile.RefusedException e) {
            System.out.println("Nothing removed: " + e.getMessage());
            return null;
        }
        if (removed == null) {
            System.out.println("No rule '" + name + "' in " + target);
            return null;
        }
        RuleFiles.reload(target, authorizer);
        System.out.println("Removed rule '" + removed.name() + "' from " + target);
        return null;
    }
}
