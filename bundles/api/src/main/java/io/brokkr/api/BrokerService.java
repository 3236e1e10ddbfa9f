package io.brokkr.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Management and in-process publishing interface of the running broker, registered as an OSGi service by the
 * broker bundle. Used by the Karaf shell commands and by extensions.
 */
@ProviderType
public interface BrokerService {

    /** Clients with an open network connection. */
    List<ClientInfo> clients();

    /**
     * All sessions, connected or persisted offline, as they are at the call: each is read on the event loop that
     * owns it, and the call waits for those loops (at most 10 s; a loop that does not answer leaves its sessions
     * out, logged), so call it from a thread of your own, not from an interceptor or observer callback.
     */
    List<SessionInfo> sessions();

    /** All subscriptions of all sessions. */
    List<SubscriptionInfo> subscriptions();

    /** Retained messages whose topic matches {@code topicFilter} (use "#" for all non-$ topics). */
    List<Message> retained(String topicFilter);

    /** The listeners currently configured. */
    List<ListenerInfo> listeners();

    /** Current counters. */
    BrokerStats stats();

    /**
     * Publishes a message from inside the broker as if a client had published it (retained messages are stored,
     * an empty retained payload clears the retained message).
     *
     * @return the number of subscriptions the message was delivered or queued to
     * @throws IllegalArgumentException if the topic is not a valid topic name
     */
    int publish(Message message);

    /**
     * Disconnects a client (MQTT 5 clients receive DISCONNECT with reason 0x98 Administrative action).
     *
     * @param clientId    the client to disconnect
     * @param removeSession also discard its session state
     * @return true if a connection or session with that id existed
     */
    boolean kick(String clientId, boolean removeSession);

    /** The message sinks (storage connectors) the broker knows, running or not. */
    List<SinkInfo> sinks();

    /** The journal that feeds the sinks, or null when it is not open (no sink was ever registered). */
    default JournalInfo journal() {
        return null;
    }

    /**
     * Pauses ({@code running = false}) or resumes a sink. A paused sink's messages wait for it in the journal.
     *
     * @return false if no sink has this name
     */
    boolean setSinkRunning(String name, boolean running);

    /**
     * Forgets a sink that is no longer wanted: its backlog in the journal is released, and a sink with this name that
     * registers later starts at the end of the journal.
     *
     * @return false if no sink has this name
     * @throws IllegalStateException if the sink's service is still registered (uninstall or stop it first)
     */
    boolean removeSink(String name);

    /** The asynchronous observers and their queues. */
    List<ObserverInfo> observers();

    /** The client connected with this id, if any. */
    default Optional<ClientInfo> client(String clientId) {
        return clients().stream().filter(c -> c.clientId().equals(clientId)).findFirst();
    }

    /** The addresses and networks banned now (by failed logins or by hand), the ones ending first first. */
    List<BanInfo> bans();

    /**
     * Bans an address ({@code 203.0.113.7}) or network ({@code 203.0.113.0/24}, {@code 2001:db8::/32}) for
     * {@code seconds}: its new connections are refused with 0x8A Banned; connections already open stay (kick them).
     *
     * @throws IllegalArgumentException if it is not an IP address or CIDR network, or seconds is not positive
     */
    void ban(String addressOrNetwork, long seconds, String reason);

    /** Lifts the ban of an address or network, written as it was banned; false if it was not banned. */
    boolean unban(String addressOrNetwork);
}
