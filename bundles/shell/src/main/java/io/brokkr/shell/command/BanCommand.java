package io.brokkr.shell.command;

import io.brokkr.api.BrokerService;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "ban",
        description = "Bans an address or network: its new connections are refused (0x8A Banned) for a while")
public class BanCommand implements Action {

    @Reference
    BrokerService broker;

    @Argument(index = 0, name = "address", required = true,
            description = "IP address (203.0.113.7) or CIDR network (203.0.113.0/24, 2001:db8::/32)")
    String address;

    @Option(name = "-t", aliases = "--time", description = "Seconds the ban lasts (default 3600)")
    long seconds = 3600;

    @Option(name = "-r", aliases = "--reason", description = "Why, as mqtt:bans shows it")
    String reason = "banned by hand";

    @Override
    public Object execute() throws Exception {
        try {
            broker.ban(address, seconds, reason);
        } catch (IllegalArgumentException e) {
            throw Formats.error(e.getMessage());
        }
        System.out.println("Banned " + address + " for " + Formats.duration(seconds)
                + " (open connections stay: mqtt:kick them)");
        return null;
    }
}
