package io.brokkr.shell.command;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.SubscriptionInfo;
import io.brokkr.shell.completers.ClientIdCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Service
@Command(scope = "mqtt", name = "subscriptions",
        description = "Lists subscriptions, of all sessions or of one client")
public class SubscriptionsCommand implements Action {

    @Reference
    BrokerService broker;

    @Argument(index = 0, name = "clientId", description = "Only the subscriptions of this client (session)")
    @Completion(ClientIdCompleter.class)
    String clientId;

    @Override
    public Object execute() throws Exception {
        List<SubscriptionInfo> subs = broker.subscriptions().stream()
                .filter(s -> clientId == null || clientId.equals(s.clientId()))
                .sorted(Comparator.comparing(SubscriptionInfo::clientId).thenComparing(SubscriptionInfo::fullFilter))
                .toList();
        if (clientId != null && subs.isEmpty()
                && broker.sessions().stream().noneMatch(s -> clientId.equals(s.clientId()))) {
            throw Formats.error("no session with client id '" + clientId + "'");
        }
        ShellTable table = new ShellTable();
        table.column("Client ID");
        table.column("Filter");
        table.column("QoS").alignRight();
        table.column("Options");
        table.column("Subscription Id").alignRight();
        table.emptyTableText(clientId == null ? "No subscriptions" : "No subscriptions for client '" + clientId + "'");
        for (SubscriptionInfo s : subs) {
            table.addRow().addContent(s.clientId(), s.fullFilter(), s.qos(), options(s),
                    s.subscriptionId() == 0 ? "-" : String.valueOf(s.subscriptionId()));
        }
        table.print(System.out);
        return null;
    }

    /** MQTT 5 subscription options: NL (No Local), RAP (Retain As Published), RH=n (Retain Handling, if not 0). */
    static String options(SubscriptionInfo s) {
        List<String> o = new ArrayList<>(3);
        if (s.noLocal()) {
            o.add("NL");
        }
        if (s.retainAsPublished()) {
            o.add("RAP");
        }
        if (s.retainHandling() != 0) {
            o.add("RH=" + s.retainHandling());
        }
        return o.isEmpty() ? "-" : String.join(",", o);
    }
}
