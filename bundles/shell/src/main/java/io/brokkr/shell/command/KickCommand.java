package io.brokkr.shell.command;

import io.brokkr.api.BrokerService;
import io.brokkr.shell.completers.ConnectedClientIdCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "kick",
        description = "Disconnects a client (MQTT 5 clients get DISCONNECT 0x98 Administrative action)")
public class KickCommand implements Action {

    @Reference
    BrokerService broker;

    @Option(name = "-s", aliases = "--remove-session", description = "Also discard the client's session state")
    boolean removeSession;

    @Argument(index = 0, name = "clientId", required = true, description = "Client identifier")
    @Completion(ConnectedClientIdCompleter.class)
    String clientId;

    @Override
    public Object execute() throws Exception {
        boolean wasConnected = broker.client(clientId).isPresent();
        boolean existed = broker.kick(clientId, removeSession);
        String msg;
        if (!existed) {
            msg = "No client or session with id '" + clientId + "'";
        } else if (wasConnected) {
            msg = "Disconnected client '" + clientId + "'" + (removeSession ? " and removed its session" : "");
        } else if (removeSession) {
            msg = "Client '" + clientId + "' was not connected; removed its session";
        } else {
            msg = "Client '" + clientId + "' is not connected; its session was kept (use -s to remove it)";
        }
        System.out.println(msg);
        return null;
    }
}
