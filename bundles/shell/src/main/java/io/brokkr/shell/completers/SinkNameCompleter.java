package io.brokkr.shell.completers;

import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.SinkInfo;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the names of the message sinks the broker knows. */
@Service
public class SinkNameCompleter implements Completer {

    @Reference
    BrokerService broker;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        for (SinkInfo s : broker.sinks()) {
            delegate.getStrings().add(s.name());
        }
        return delegate.complete(session, commandLine, candidates);
    }
}
