package io.brokkr.broker.routing;

import io.brokkr.journal.AppendListener;
import io.brokkr.journal.JournalFullException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What routing one message came to: how many sessions it was for and how many of them took it (sent it or queued
 * it). Targets on the publisher's own event loop answer at once; those on other loops answer when their loop has run
 * the hand-off, so the result may complete later, on any thread. The publisher's PUBACK/PUBREC waits for it
 * (in the protocol's connection handler), so a QoS 1/2 message is acknowledged only once every target has taken it or refused it.
 * This is also where durable storage will hook in: a message is safe when the result completes.
 */
public final class RouteResult implements AppendListener {

    /** PUBACK/PUBREC reason code 0x10 No matching subscribers (MQTT 5). */
    public static final int RC_NO_MATCHING_SUBSCRIBERS = 0x10;
    /** PUBACK/PUBREC reason code 0x97 Quota exceeded (MQTT 5). */
    public static final int RC_QUOTA_EXCEEDED = 0x97;

    /** PUBACK/PUBREC reason code 0x80 Unspecified error (MQTT 5): the message could not be stored. */
    public static final int RC_UNSPECIFIED_ERROR = 0x80;

    /** Routed to no session. */
    public static final RouteResult NO_TARGETS = new RouteResult(0, 0, 0);

    private static final Runnable FIRED = () -> { };
    private static final VarHandle LISTENER;
    private static final VarHandle PARTS;
    private static final VarHandle TAKEN_COUNT;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            LISTENER = l.findVarHandle(RouteResult.class, "listener", Runnable.class);
            PARTS = l.findVarHandle(RouteResult.class, "parts", int.class);
            TAKEN_COUNT = l.findVarHandle(RouteResult.class, "taken", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Final once the result is handed out ({@link #afterRouting} adds the routing's before it reports). */
    private int targets;
    @SuppressWarnings("unused") // VarHandle
    private volatile int taken;
    /** Parts (the publisher's loop and each other loop with targets) that have not reported yet. */
    @SuppressWarnings("unused") // VarHandle
    private volatile int parts;
    private volatile Runnable listener;
    /** The journal write this result waited for failed: the message is not safe, the acknowledgement says so. */
    private volatile boolean storeFailed;
    /** ... because the journal was full (its disk bound or its queue): 0x97 Quota exceeded, not 0x80. */
    private volatile boolean storeFull;

    private RouteResult(int targets, int taken, int parts) {
        this.targets = targets;
        this.taken = taken;
        this.parts = parts;
    }

    /** A result whose {@code parts} parts report through {@link #part(int)}. */
    public static RouteResult pending(int targets, int parts) {
        return new RouteResult(targets, 0, parts);
    }

    public static RouteResult done(int targets, int taken) {
        if (targets == 0) {
            return NO_TARGETS;
        }
        return new RouteResult(targets, taken, 0);
    }

    /**
     * A result to give to the journal's append as its {@link AppendListener} before the message is routed, then
     * joined with the routing by {@link #afterRouting}: the message is acknowledged only once every session target
     * took it and it is on disk for the sinks. It completes when both have: the journal counts as one more target (so
     * a message that only a sink takes is acknowledged with success), a failed append makes the reason code
     * {@link #RC_UNSPECIFIED_ERROR}, or {@link #RC_QUOTA_EXCEEDED} if the journal was full. No future, no callback
     * object: the journal's writer thread reports to this result directly.
     */
    public static RouteResult awaitingJournal() {
        return new RouteResult(1, 0, 2);
    }

    /**
     * Joins the routing of the message to a result of {@link #awaitingJournal()} (once, on the publisher's thread,
     * before the result is handed out); returns this result.
     */
    public RouteResult afterRouting(RouteResult routed) {
        targets += routed.targets;
        if (routed.isDone()) {
            part(routed.taken()); // NO_TARGETS is shared: never give it a listener
        } else {
            routed.whenDone(() -> part(routed.taken()));
        }
        return this;
    }

    /** The journal took the message (its writer thread): the journal part of {@link #awaitingJournal()}. */
    @Override
    public void appended(long sequence) {
        part(1);
    }

    /** The journal refused or failed the message (any thread): the acknowledgement says so. */
    @Override
    public void appendFailed(Throwable error) {
        storeFull = error instanceof JournalFullException;
        storeFailed = true;
        part(0);
    }

    /** True if the message could not be written to the sinks' journal (see {@link #awaitingJournal}). */
    public boolean storeFailed() {
        return storeFailed;
    }

    /** Number of sessions the message was routed to. */
    public int targets() {
        return targets;
    }

    public boolean isDone() {
        return (int) PARTS.getVolatile(this) == 0;
    }

    /** Sessions that took the message; final once {@link #isDone()}. */
    public int taken() {
        return (int) TAKEN_COUNT.getVolatile(this);
    }

    /**
     * The reason code of the acknowledgement: 0x00 success (at least one target took it), 0x10 no matching
     * subscribers, 0x97 quota exceeded (every target refused it: queues full; or the sinks' journal is full), 0x80
     * unspecified error (the journal write failed). Only once {@link #isDone()}.
     */
    public int reasonCode() {
        if (storeFailed) {
            return storeFull ? RC_QUOTA_EXCEEDED : RC_UNSPECIFIED_ERROR;
        }
        if (targets == 0) {
            return RC_NO_MATCHING_SUBSCRIBERS;
        }
        return taken() > 0 ? 0 : RC_QUOTA_EXCEEDED;
    }

    /** A part reports how many of its targets took the message. Any thread. */
    public void part(int takenHere) {
        if (takenHere != 0) {
            TAKEN_COUNT.getAndAdd(this, takenHere);
        }
        if ((int) PARTS.getAndAdd(this, -1) == 1) {
            fire();
        }
    }

    /** Runs {@code r} once when done (at once, on this thread, if done already); else on the thread completing it. */
    public void whenDone(Runnable r) {
        Runnable prev = (Runnable) LISTENER.compareAndExchange(this, null, r);
        if (prev == null) {
            if (isDone()) {
                fire();
            }
        } else if (prev == FIRED) {
            r.run(); // completed before the listener came
        } else {
            throw new IllegalStateException("one listener only");
        }
    }

    private void fire() {
        Runnable r = (Runnable) LISTENER.getAndSet(this, FIRED);
        if (r != null && r != FIRED) {
            r.run();
        }
    }
}
