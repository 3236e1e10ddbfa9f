package io.brokkr.shell.command;

import io.brokkr.api.BrokerService;
import io.brokkr.shell.completers.SinkNameCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "connector-remove", description = "Forgets a connector whose bundle is gone for good: its backlog in the journal is released")
public class ConnectorRemoveCommand implements Action {

    @Reference
    BrokerService broker;

    @Argument(index = 0, name = "name", required = true, description = "Connector (sink) name, as mqtt:connectors lists it")
    @Completion(SinkNameCompleter.class)
    String name;

    @Override
    public Object execute() throws Exception {
        boolean removed;
        try {
            removed = broker.removeSink(name);
        } catch (IllegalStateException e) {
            throw Formats.error(e.getMessage());
        }
        if (!removed) {
            throw Formats.error("no connector named '" + name + "' (see mqtt:connectors)");
        }
        System.out.println("Removed connector '" + name + "': its backlog is released");
        return null;
    }
}
