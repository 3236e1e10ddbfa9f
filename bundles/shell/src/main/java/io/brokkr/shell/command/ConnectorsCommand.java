package io.brokkr.shell.command;

import java.util.Comparator;

import io.brokkr.api.BrokerService;
import io.brokkr.api.JournalInfo;
import io.brokkr.api.SinkInfo;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "connectors",
        description = "Lists the message sinks (storage connectors) with their state, backlog in the journal and counters")
public class ConnectorsCommand implements Action {

    @Reference
    BrokerService broker;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Name");
        table.column("State");
        table.column("Topics");
        table.column("Written").alignRight();
        table.column("Pending").alignRight();
        table.column("Pending bytes").alignRight();
        table.column("Retries").alignRight();
        table.column("Failed").alignRight();
        table.column("Skipped QoS 0").alignRight();
        table.column("Last write");
        table.column("Last error");
        table.emptyTableText("No connectors (install one, e.g. feature:install brokkr-connector-redis)");
        broker.sinks().stream().sorted(Comparator.comparing(SinkInfo::name)).forEach(s ->
                table.addRow().addContent(s.name(), s.state(), String.join(",", s.topics()), s.written(),
                        s.pendingRecords(), s.pendingBytes(), s.retries(), s.failed(), s.skipped(),
                        Formats.timestamp(s.lastWriteTime()), Formats.orDash(s.lastError())));
        table.print(System.out);
        JournalInfo j = broker.journal();
        if (j != null) {
            String sync = "interval".equals(j.fsync()) ? "fsync every " + j.fsyncIntervalMs() + " ms" : "fsync always";
            String bound = j.maxBytes() == 0 ? "no bound" : "journal.max.bytes " + j.maxBytes();
            System.out.println("Journal " + j.dir() + " (" + sync + "): " + j.usedBytes() + " bytes used, " + bound
                    + (j.full() ? ", FULL (biggest backlog: " + Formats.orDash(j.biggestBacklog()) + ")" : "")
                    + "; refused QoS 1/2: " + j.refused() + ", skipped QoS 0: " + j.skipped());
        }
        return null;
    }
}
