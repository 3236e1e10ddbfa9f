package io.brokkr.shell.command;

import java.util.Optional;

import io.brokkr.api.BrokerService;
import io.brokkr.api.ClientInfo;
import io.brokkr.shell.completers.ConnectedClientIdCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "kick",
        description = "Disconnects a client (MQTT 5 clients get DISCONNECT 0x98 Administrative action)")
public class KickCommand implements Action {

    @Reference
    BrokerService broker;

    @Option(name = "-s", aliases = "--remove-session", description = "Also discard the client's session state")
    boolean removeSession;

    @Argument(index = 0, name = "clientId", required = true, description = "Client identifier")
    @Completion(ConnectedClientIdCompleter.class)
    String clientId;

    /** Longest the command waits for the kick to show in the listings. */
    static final long WAIT_MILLIS = 5_000;

    @Override
    public Object execute() throws Exception {
        Optional<ClientInfo> before = broker.client(clientId);
        boolean wasConnected = before.isPresent();
        boolean existed = broker.kick(clientId, removeSession);
        if (existed) {
            awaitDone(before.orElse(null));
        }
        String msg;
        if (!existed) {
            msg = "No client or session with id '" + clientId + "'";
        } else if (wasConnected) {
            msg = "Disconnected client '" + clientId + "'" + (removeSession ? " and removed its session" : "");
        } else if (removeSession) {
            msg = "Client '" + clientId + "' was not connected; removed its session";
        } else {
            msg = "Client '" + clientId + "' is not connected; its session was kept (use -s to remove it)";
        }
        System.out.println(msg);
        return null;
    }

    /**
     * The broker's kick returns at once and does its work on the client's event loop: wait (on this shell thread,
     * never on a broker thread) until the listings show the result, so that the next mqtt:clients or mqtt:sessions
     * does. A client that connects again meanwhile with the same id counts as a new connection.
     */
    private void awaitDone(ClientInfo kicked) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            boolean disconnected = kicked == null || !broker.client(clientId).filter(kicked::equals).isPresent();
            boolean removed = !removeSession
                    || broker.sessions().stream().noneMatch(s -> s.clientId().equals(clientId) && !s.connected());
            if (disconnected && removed) {
                return;
            }
            Thread.sleep(10);
        }
    }
}
