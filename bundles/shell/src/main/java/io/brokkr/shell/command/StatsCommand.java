package io.brokkr.shell.command;

import io.brokkr.api.BrokerService;
import io.brokkr.api.BrokerStats;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "stats", description = "Shows the broker counters (as published on $SYS/broker/...)")
public class StatsCommand implements Action {

    @Reference
    BrokerService broker;

    @Override
    public Object execute() throws Exception {
        BrokerStats s = broker.stats();
        ShellTable table = new ShellTable();
        table.column("Statistic");
        table.column("Value");
        row(table, "Version", s.version());
        row(table, "Uptime", Formats.duration(s.uptimeSeconds()) + " (" + s.uptimeSeconds() + " s)");
        row(table, "Clients connected", s.clientsConnected());
        row(table, "Clients disconnected", s.clientsDisconnected());
        row(table, "Clients maximum", s.clientsMaximum());
        row(table, "Messages received", s.messagesReceived());
        row(table, "Messages sent", s.messagesSent());
        row(table, "Messages dropped", s.messagesDropped());
        row(table, "PUBLISH received", s.publishReceived());
        row(table, "PUBLISH sent", s.publishSent());
        row(table, "Bytes received", s.bytesReceived());
        row(table, "Bytes sent", s.bytesSent());
        row(table, "Subscriptions", s.subscriptions());
        row(table, "Retained messages", s.retainedMessages());
        row(table, "Stored messages", s.storedMessages());
        row(table, "Publisher pauses", s.publisherPauses());
        row(table, "Publisher pauses extended", s.publisherPausesExtended());
        row(table, "Publisher pauses capped", s.publisherPausesCapped());
        table.print(System.out);
        return null;
    }

    private static void row(ShellTable table, String name, Object value) {
        table.addRow().addContent(name, value);
    }
}
