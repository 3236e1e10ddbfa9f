package io.brokkr.shell.command;

import java.util.Comparator;
import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.Message;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "retained", description = "Lists the retained messages matching a topic filter")
public class RetainedCommand implements Action {

    @Reference
    BrokerService broker;

    @Argument(index = 0, name = "filter",
            description = "Topic filter (wildcards + and # allowed; '#' does not match $-topics such as $SYS)")
    String filter = "#";

    @Option(name = "-l", aliases = "--length", description = "Maximum length of the payload preview (default 60)")
    int length = 60;

    @Override
    public Object execute() throws Exception {
        if (length < 1) {
            throw Formats.error("invalid --length " + length + ": must be at least 1");
        }
        List<Message> messages;
        try {
            // the broker validates the filter and says what is wrong with it
            messages = broker.retained(filter).stream().sorted(Comparator.comparing(Message::topic)).toList();
        } catch (IllegalArgumentException e) {
            throw Formats.error(e.getMessage());
        }
        ShellTable table = new ShellTable();
        table.column("Topic");
        table.column("QoS").alignRight();
        table.column("Bytes").alignRight();
        table.column("Payload");
        table.emptyTableText("No retained messages match '" + filter + "'");
        for (Message m : messages) {
            table.addRow().addContent(m.topic(), m.qos(), m.payload().length, Formats.preview(m.payload(), length));
        }
        table.print(System.out);
        return null;
    }
}
