package io.brokkr.shell.command;

import java.util.Comparator;
import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.ClientInfo;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "clients", description = "Lists the clients connected to the broker")
public class ClientsCommand implements Action {

    @Reference
    BrokerService broker;

    @Override
    public Object execute() throws Exception {
        List<ClientInfo> clients = broker.clients().stream()
                .sorted(Comparator.comparing(ClientInfo::clientId)).toList();
        ShellTable table = new ShellTable();
        table.column("Client ID");
        table.column("User");
        table.column("Address");
        table.column("Listener");
        table.column("Protocol");
        table.column("Keep Alive").alignRight();
        table.column("Connected since");
        table.emptyTableText("No clients connected");
        for (ClientInfo c : clients) {
            table.addRow().addContent(c.clientId(), Formats.orDash(c.username()), c.remoteAddress(), c.listener(),
                    Formats.protocol(c.protocolVersion()), Formats.keepAlive(c.keepAlive()),
                    Formats.timestamp(c.connectedAt()));
        }
        table.print(System.out);
        return null;
    }
}
