package io.brokkr.shell.command;

import java.util.Comparator;

import io.brokkr.api.BrokerService;
import io.brokkr.api.ListenerInfo;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "listeners",
        description = "Lists the network listeners (etc/io.brokkr.broker.listener-<name>.cfg)")
public class ListenersCommand implements Action {

    @Reference
    BrokerService broker;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Name");
        table.column("Type");
        table.column("Host");
        table.column("Port").alignRight();
        table.column("Bound");
        table.column("Connections").alignRight();
        table.column("Error");
        table.emptyTableText("No listeners configured");
        broker.listeners().stream().sorted(Comparator.comparing(ListenerInfo::name)).forEach(l ->
                table.addRow().addContent(l.name(), l.type(), l.host(), l.port(), Formats.yesNo(l.bound()),
                        l.connections(), Formats.orDash(l.error())));
        table.print(System.out);
        return null;
    }
}
