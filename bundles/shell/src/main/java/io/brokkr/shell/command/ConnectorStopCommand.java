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
@Command(scope = "mqtt", name = "connector-stop", description = "Pauses a connector: its messages wait in the journal until connector-start")
public class ConnectorStopCommand implements Action {

    @Reference
    BrokerService broker;

    @Argument(index = 0, name = "name", required = true, description = "Connector (sink) name, as mqtt:connectors lists it")
    @Completion(SinkNameCompleter.class)
    String name;

    @Override
    public Object execute() throws Exception {
        if (!broker.setSinkRunning(name, false)) {
            throw Formats.error("no connector named '" + name + "' (see mqtt:connectors)");
        }
        System.out.println("Stopped connector '" + name + "': its messages wait in the journal (also across a broker"
                + " restart, until mqtt:connector-start)");
        return null;
    }
}
