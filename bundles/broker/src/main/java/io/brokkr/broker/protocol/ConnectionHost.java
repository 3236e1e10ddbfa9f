package io.brokkr.broker.protocol;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.Stats;
import io.brokkr.broker.routing.RouteResult;
import io.brokkr.broker.session.ClientChannel;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.topic.Subscription;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What a connection calls on the engine (implemented by the broker), so that the protocol package depends on nothing
 * above it, and what the engine calls on a connection ({@link Client}).
 */
public interface ConnectionHost {

    /**
     * A connection as the engine sees it: what a session calls ({@link ClientChannel}) and what completing a
     * CONNECT and back-pressure need. Implemented by the protocol's connection handler.
     */
    interface Client extends ClientChannel {

        /** The client identifier (assigned by the broker if the client sent none); null before CONNECT. */
        String clientId();

        boolean isV5();

        /**
         * Moves the connection's channel to {@code loop} (its session's), then runs {@code then} there; closes the
         * connection if the move fails. Channel loop, while reads are paused.
         */
        void moveTo(EventLoop loop, Runnable then);

        /**
         * Attaches the connection to its session. Session loop.
         *
         * @return false if the connection closed before (it is not attached, nothing is to be reported)
         */
        boolean link(Session s);

        /** Session loop, after {@link #link}: sends CONNACK. */
        void connected(Session s, boolean sessionPresent, ConnectParams p);

        /**
         * Stops reading this publisher because {@code target}, an online subscriber of its messages, has a long
         * QoS 1/2 queue, until {@code target} drains. Any thread.
         *
         * @return false if {@code target} had drained meanwhile and reading goes on (the publisher waits for nothing)
         */
        boolean throttle(Session target);
    }

    /** What the session loop needs to complete a CONNECT. */
    record ConnectParams(boolean cleanStart, long sessionExpiry, boolean expiryCapped, boolean assignedId,
                         Integer serverKeepAlive, Message will, long willDelay) {
    }

    /** What a SUBSCRIBE came to: the SUBACK codes, the granted subscriptions and which of them are new. */
    record SubscribeResult(List<Integer> codes, Subscription[] granted, boolean[] isNew) {
    }

    /**
     * One topic filter of a SUBSCRIBE, as the client asked for it (the engine validates and authorizes it).
     *
     * @param filter            as sent, with a {@code $share/group/} prefix for a shared subscription
     * @param qos               the requested maximum QoS
     * @param noLocal           MQTT 5 No Local (false for 3.x)
     * @param retainAsPublished MQTT 5 Retain As Published (false for 3.x)
     * @param retainHandling    MQTT 5 Retain Handling (0 for 3.x)
     */
    record SubscribeRequest(String filter, int qos, boolean noLocal, boolean retainAsPublished, int retainHandling) {
    }

    BrokerConfig config();

    /** The broker's counters. */
    Stats counters();

    /** The address lists, connection rate, client id prefixes and failed-login bans, checked at every CONNECT. */
    io.brokkr.broker.transport.ConnectionGuard guard();

    /**
     * Runs the authenticator chain; completes on any thread. {@code certified}: the user name comes from a verified
     * client certificate ({@code identity.from.certificate}), so the connection is allowed when every authenticator
     * answers NEXT, whatever {@code allow.anonymous} says (as Mosquitto's {@code use_identity_as_username}).
     */
    CompletableFuture<AuthenticationResult> authenticate(ConnectionContext ctx, AuthenticationRequest req,
                                                         boolean certified);

    /** Asks the authorizer chain whether {@code client} may publish there. */
    boolean authorizePublish(ConnectionContext client, String topic, int qos, boolean retain);

    /** Completes a CONNECT after authentication. Runs on the connection's loop. */
    void connect(Client conn, ConnectParams p);

    /** Runs on the session loop: an attached connection closed. */
    void detach(Session s, ClientChannel conn, boolean sendWill, ConnectionContext ctx, boolean graceful);

    /** Routes a message published by {@code from}; the result completes when every target took it or refused it. */
    RouteResult publish(ConnectionContext publisher, Message message, Client from);

    /**
     * A message was written to a subscriber (for the interceptors and observers).
     *
     * @param qos      the QoS it was sent with
     * @param packetId its packet identifier (0 for QoS 0)
     */
    void delivered(ConnectionContext subscriber, Message m, int qos, int packetId);

    /** Runs on the session loop. */
    SubscribeResult subscribe(Session s, Client conn, List<SubscribeRequest> subs, int subId);

    /** Runs on the session loop, after SUBACK: sends retained messages per Retain Handling. */
    void sendRetainedAfterSubscribe(Session s, SubscribeResult r);

    /** Runs on the session loop. */
    boolean unsubscribe(Session s, String full);

    /** The session of a client id, or null. */
    Session session(String clientId);
}
