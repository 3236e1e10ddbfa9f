package io.brokkr.shell.command;

import io.brokkr.api.BanInfo;
import io.brokkr.api.BrokerService;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "unban", description = "Lifts a ban (as mqtt:bans lists it), or all of them")
public class UnbanCommand implements Action {

    @Reference
    BrokerService broker;

    @Argument(index = 0, name = "address", description = "The address or network, written as mqtt:bans lists it")
    String address;

    @Option(name = "-a", aliases = "--all", description = "Lift every ban")
    boolean all;

    @Override
    public Object execute() throws Exception {
        if (all) {
            int n = 0;
            for (BanInfo b : broker.bans()) {
                n += broker.unban(b.address()) ? 1 : 0;
            }
            System.out.println("Lifted " + n + " ban(s)");
            return null;
        }
        if (address == null) {
            throw Formats.error("give an address or network (see mqtt:bans), or --all");
        }
        if (!broker.unban(address)) {
            throw Formats.error("'" + address + "' is not banned (see mqtt:bans)");
        }
        System.out.println("Lifted the ban of " + address);
        return null;
    }
}
