package io.brokkr.shell.completers;

import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.ClientInfo;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the client ids of the clients currently connected. */
@Service
public class ConnectedClientIdCompleter implements Completer {

    @Reference
    BrokerService broker;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        for (ClientInfo c : broker.clients()) {
            delegate.getStrings().add(c.clientId());
        }
        return delegate.complete(session, commandLine, candidates);
    }
}
