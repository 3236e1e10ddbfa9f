package io.brokkr.broker;

import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.protocol.MqttConnection;
import io.brokkr.broker.session.Session;
import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The engine's back-pressure constants and a client's event loop, for the protocol tests in sub-packages (the
 * engine keeps them package-private). Test code only.
 */
public final class Internals {

    /** {@link MqttConnection#THROTTLE_MAX_MILLIS}: how often the safety net checks a paused publisher. */
    public static final long THROTTLE_MAX_MILLIS = MqttConnection.THROTTLE_MAX_MILLIS;
    /** {@link MqttConnection#THROTTLE_LONGEST_MILLIS}: longest pause by a subscriber that is slow, not stuck. */
    public static final long THROTTLE_LONGEST_MILLIS = MqttConnection.THROTTLE_LONGEST_MILLIS;
    /**
     * {@link Session#THROTTLE_PENDING_DELIVERIES}: deliveries on their way to a session's loop from which its
     * publishers are paused whatever the session's policy (the broker's own loop is behind).
     */
    public static final int THROTTLE_PENDING_DELIVERIES = Session.THROTTLE_PENDING_DELIVERIES;
    /** {@link Session#THROTTLE_QUEUE}: queue length (at most half of max.queued.messages) that throttles. */
    public static final int THROTTLE_QUEUE = Session.THROTTLE_QUEUE;
    /** {@link Session#STALL_NANOS} in milliseconds: a subscriber silent this long no longer throttles anyone. */
    public static final long STALL_MILLIS = TimeUnit.NANOSECONDS.toMillis(Session.STALL_NANOS);

    private Internals() {
    }

    /** The event loop of a client's session (its connection's loop while connected), or null without a session. */
    public static Object loopOf(Broker broker, String clientId) throws ReflectiveOperationException {
        Field f = Broker.class.getDeclaredField("sessions");
        f.setAccessible(true);
        Session s = (Session) ((Map<?, ?>) f.get(broker)).get(clientId);
        return s == null ? null : s.loop;
    }
}
