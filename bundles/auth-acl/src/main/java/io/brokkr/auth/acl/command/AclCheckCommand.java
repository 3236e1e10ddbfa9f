package io.brokkr.auth.acl.command;

import io.brokkr.api.auth.Authorizer.Decision;
import io.brokkr.auth.acl.AclAuthorizer;
import io.brokkr.auth.acl.AclFile;
import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code mqtt:acl-check USER [CLIENTID] TOPIC read|write}: what the running ACL file authorizer answers, without a
 * client. {@code write} is a PUBLISH (or a will) to a topic, {@code read} a SUBSCRIBE to a filter.
 */
@Service
@Command(scope = "mqtt", name = "acl-check",
        description = "What the ACL file in force answers to a PUBLISH (write) or SUBSCRIBE (read) of a user "
                + "(- for a client without a user name); CLIENTID, for %c patterns, defaults to the user name")
public class AclCheckCommand implements Action {

    @Reference(optional = true)
    AclAuthorizer authorizer;

    @Argument(index = 0, name = "args", required = true, multiValued = true,
            description = "USER [CLIENTID] TOPIC read|write")
    List<String> args;

    @Override
    public Object execute() throws Exception {
        if (authorizer == null) {
            System.out.println("No ACL file authorizer is running (feature brokkr-auth-acl, etc/io.brokkr.auth.acl.cfg)");
            return null;
        }
        if (args == null || args.size() < 3 || args.size() > 4) {
            System.out.println("Usage: mqtt:acl-check USER [CLIENTID] TOPIC read|write");
            return null;
        }
        String user = args.get(0).equals("-") ? null : args.get(0);
        String clientId = args.size() == 4 ? args.get(1) : user == null ? "" : user;
        String topic = args.get(args.size() - 2);
        String access = args.get(args.size() - 1);
        AclFile acl = authorizer.acl();
        AclFile.Verdict verdict;
        Decision d;
        if (access.equals("write")) {
            verdict = acl.publish(user, clientId, topic);
            d = authorizer.decidePublish(user, clientId, topic);
        } else if (access.equals("read")) {
            verdict = acl.subscribe(user, clientId, topic);
            d = authorizer.decideSubscribe(user, clientId, topic);
        } else {
            System.out.println("The access is read (SUBSCRIBE) or write (PUBLISH), not '" + access + "'");
            return null;
        }
        String why = switch (verdict) {
            case GRANTED -> "granted";
            case DENIED -> "a deny line";
            case UNMATCHED -> authorizer.unmatchedNext() ? "not granted, unmatched = next" : "not granted";
        };
        System.out.println(d + " (" + why + "): " + (access.equals("write") ? "PUBLISH to '" : "SUBSCRIBE to '")
                + topic + "' by " + (user == null ? "a client without a user name" : "user '" + user + "'")
                + ", client id '" + clientId + "' (" + authorizer.file() + ")");
        return null;
    }
}
