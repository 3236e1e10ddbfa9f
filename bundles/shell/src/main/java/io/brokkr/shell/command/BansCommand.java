package io.brokkr.shell.command;

import io.brokkr.api.BanInfo;
import io.brokkr.api.BrokerService;
import java.time.Duration;
import java.time.Instant;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "bans",
        description = "Lists the banned addresses and networks (by failed logins or mqtt:ban), until when and why")
public class BansCommand implements Action {

    @Reference
    BrokerService broker;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Address");
        table.column("Until");
        table.column("Left").alignRight();
        table.column("Reason");
        table.emptyTableText("No bans");
        Instant now = Instant.now();
        for (BanInfo b : broker.bans()) {
            table.addRow().addContent(b.address(), Formats.timestamp(b.until().toEpochMilli()),
                    Formats.duration(Math.max(0, Duration.between(now, b.until()).toSeconds())), b.reason());
        }
        table.print(System.out);
        return null;
    }
}
