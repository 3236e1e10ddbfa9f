package io.brokkr.auth.passwd.command;

import io.brokkr.auth.passwd.PasswdAuthenticator;
import io.brokkr.auth.passwd.PasswdFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;

@Service
@Command(scope = "mqtt", name = "passwd-add",
        description = "Adds a user to the password file, or sets its password (mosquitto_passwd 2.0 format: $7$, "
                + "PBKDF2-SHA512, 101 iterations); the authenticator reads the change at once")
public class PasswdAddCommand implements Action {

    @Reference(optional = true)
    PasswdAuthenticator authenticator;

    @Reference(optional = true)
    Session session;

    @Option(name = "-f", aliases = "--file",
            description = "Password file (default: the file of etc/io.brokkr.auth.passwd.cfg, else etc/brokkr.passwd)")
    String file;

    @Argument(index = 0, name = "user", required = true, description = "User name")
    String user;

    @Argument(index = 1, name = "password", description = "Password (asked for, not echoed, if left out)")
    String password;

    @Override
    public Object execute() throws Exception {
        String pw = password;
        if (pw == null) {
            if (session == null) {
                System.out.println("No password given");
                return null;
            }
            pw = session.readLine("Password: ", '*');
            String again = session.readLine("Reenter password: ", '*');
            if (pw == null || !pw.equals(again)) {
                System.out.println("Passwords do not match: nothing changed");
                return null;
            }
        }
        Path target = PasswdFiles.target(file, authenticator);
        boolean updated;
        try {
            updated = PasswdFile.put(target, user, pw.getBytes(StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            System.out.println(e.getMessage() + ": nothing changed");
            return null;
        }
        PasswdFiles.reload(target, authenticator);
        System.out.println((updated ? "Updated" : "Added") + " user '" + user + "' in " + target);
        return null;
    }
}
