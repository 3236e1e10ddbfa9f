package io.brokkr.shell.command;

import java.util.Comparator;

import io.brokkr.api.BrokerService;
import io.brokkr.api.ObserverInfo;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "observers",
        description = "Lists the asynchronous hooks (MessageObserver services) with their queues and counters")
public class ObserversCommand implements Action {

    @Reference
    BrokerService broker;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Name");
        table.column("Queued").alignRight();
        table.column("Capacity").alignRight();
        table.column("Delivered").alignRight();
        table.column("Dropped").alignRight();
        table.column("Failed").alignRight();
        table.emptyTableText("No observers");
        broker.observers().stream().sorted(Comparator.comparing(ObserverInfo::name)).forEach(o ->
                table.addRow().addContent(o.name(), o.queued(), o.capacity(), o.delivered(), o.dropped(),
                        o.failed()));
        table.print(System.out);
        return null;
    }
}
