package io.brokkr.shell.command;

import java.util.Comparator;
import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.SessionInfo;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "sessions",
        description = "Lists the sessions held by the broker, connected or persisted offline")
public class SessionsCommand implements Action {

    @Reference
    BrokerService broker;

    @Option(name = "-c", aliases = "--connected", description = "Only sessions with a connected client")
    boolean connectedOnly;

    @Option(name = "-o", aliases = "--offline", description = "Only offline (persisted) sessions")
    boolean offlineOnly;

    @Override
    public Object execute() throws Exception {
        if (connectedOnly && offlineOnly) {
            throw Formats.error("--connected and --offline are mutually exclusive");
        }
        long now = System.currentTimeMillis();
        List<SessionInfo> sessions = broker.sessions().stream()
                .filter(s -> !connectedOnly || s.connected())
                .filter(s -> !offlineOnly || !s.connected())
                .sorted(Comparator.comparing(SessionInfo::clientId)).toList();
        ShellTable table = new ShellTable();
        table.column("Client ID");
        table.column("Connected");
        table.column("Protocol");
        table.column("Expiry");
        table.column("Subscriptions").alignRight();
        table.column("Inflight").alignRight();
        table.column("Queued").alignRight();
        table.emptyTableText(connectedOnly ? "No connected sessions" : offlineOnly ? "No offline sessions" : "No sessions");
        for (SessionInfo s : sessions) {
            table.addRow().addContent(s.clientId(), Formats.yesNo(s.connected()), Formats.protocol(s.protocolVersion()),
                    Formats.expiry(s.expiryInterval(), s.connected(), s.disconnectedAt(), now),
                    s.subscriptions(), s.inflight(), s.queued());
        }
        table.print(System.out);
        return null;
    }
}
