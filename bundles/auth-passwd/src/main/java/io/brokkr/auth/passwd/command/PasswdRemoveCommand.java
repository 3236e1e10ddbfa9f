package io.brokkr.auth.passwd.command;

import io.brokkr.auth.passwd.PasswdAuthenticator;
import io.brokkr.auth.passwd.PasswdFile;
import java.nio.file.Path;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "passwd-remove",
        description = "Removes a user from the password file; the authenticator reads the change at once "
                + "(connected clients of that user stay connected: use mqtt:kick)")
public class PasswdRemoveCommand implements Action {

    @Reference(optional = true)
    PasswdAuthenticator authenticator;

    @Option(name = "-f", aliases = "--file",
            description = "Password file (default: the file of etc/io.brokkr.auth.passwd.cfg, else etc/brokkr.passwd)")
    String file;

    @Argument(index = 0, name = "user", required = true, description = "User name")
    String user;

    @Override
    public Object execute() throws Exception {
        Path target = PasswdFiles.target(file, authenticator);
        boolean removed;
        try {
            removed = PasswdFile.remove(target, user);
        } catch (IllegalArgumentException e) {
            System.out.println(e.getMessage());
            return null;
        }
        if (!removed) {
            System.out.println("No user '" + user + "' in " + target);
            return null;
        }
        PasswdFiles.reload(target, authenticator);
        System.out.println("Removed user '" + user + "' from " + target);
        return null;
    }
}
