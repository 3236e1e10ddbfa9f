package io.brokkr.shell.command;

import static io.brokkr.shell.command.CommandsTest.cell;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code mqtt:ban}, {@code mqtt:bans} and {@code mqtt:unban} on the engine; bad input gets a clear message. */
class BanCommandsTest {

    Broker broker;

    @BeforeEach
    void start() {
        broker = new Broker(BrokerConfig.defaults());
        broker.start();
    }

    @AfterEach
    void stop() {
        broker.stop();
    }

    private String run(org.apache.karaf.shell.api.action.Action a) throws Exception {
        return ShellOutput.run(a);
    }

    private BanCommand ban(String address, long seconds, String reason) {
        BanCommand c = new BanCommand();
        c.broker = broker;
        c.address = address;
        c.seconds = seconds;
        if (reason != null) {
            c.reason = reason;
        }
        return c;
    }

    private String bans() throws Exception {
        BansCommand c = new BansCommand();
        c.broker = broker;
        return run(c);
    }

    private UnbanCommand unban(String address, boolean all) {
        UnbanCommand c = new UnbanCommand();
        c.broker = broker;
        c.address = address;
        c.all = all;
        return c;
    }

    @Test
    void banListAndLift() throws Exception {
        assertTrue(bans().contains("No bans"));
        assertTrue(run(ban("203.0.113.0/24", 600, "scanner")).startsWith("Banned 203.0.113.0/24 for 10m"));
        run(ban("2001:db8::1", 60, null));
        String out = bans();
        assertEquals("scanner", cell(out, "203.0.113.0/24", "Reason"), out);
        assertEquals("banned by hand", cell(out, "2001:db8::1", "Reason"), out);
        assertTrue(cell(out, "203.0.113.0/24", "Left").matches("(9m ?5\\ds|10m( 0s)?)"), out);

        assertEquals("Lifted the ban of 203.0.113.0/24\n", run(unban("203.0.113.0/24", false)));
        Exception e = assertThrows(Exception.class, () -> run(unban("203.0.113.0/24", false)));
        assertTrue(e.getMessage().contains("is not banned"), e.getMessage());
        assertEquals("Lifted 1 ban(s)\n", run(unban(null, true)));
        assertTrue(bans().contains("No bans"));
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        Exception e = assertThrows(Exception.class, () -> run(ban("example.com", 60, null)));
        assertTrue(e.getMessage().contains("is not an IP address or CIDR network"), e.getMessage());
        e = assertThrows(Exception.class, () -> run(ban("10.0.0.0/8", 0, null)));
        assertTrue(e.getMessage().contains("not positive"), e.getMessage());
        e = assertThrows(Exception.class, () -> run(unban(null, false)));
        assertTrue(e.getMessage().contains("--all"), e.getMessage());
    }
}
