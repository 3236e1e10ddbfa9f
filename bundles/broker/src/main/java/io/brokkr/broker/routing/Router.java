package io.brokkr.broker.routing;

import io.brokkr.api.Message;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.QueueFullPolicy;
import io.brokkr.broker.config.Stats;
import io.brokkr.broker.session.Delivery;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.topic.Subscription;
import io.brokkr.broker.topic.SubscriptionTree;
import io.netty.channel.EventLoop;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Routes published messages to sessions, on the publisher's event loop: a delivery per target session, handed to the
 * session's own loop when that is another one (bounded: {@link Session#THROTTLE_PENDING_DELIVERIES} pauses the
 * publisher, {@link Session#MAX_PENDING_DELIVERIES} refuses), and the back-pressure decision: which congested target,
 * if any, pauses the publisher ({@link Routing#throttleFor()}, per {@link QueueFullPolicy}). The result of a routing
 * is a {@link RouteResult} that completes when every target has taken the message or refused it.
 */
public final class Router {

    private final EventLoop[] loops;
    private final Stats stats;
    private final Supplier<BrokerConfig> config;
    private final Function<String, Session> sessions;

    /**
     * @param loops    the broker's event loops, by {@link Session#loopIndex}
     * @param config   the running configuration (read per message: it may be replaced at runtime)
     * @param sessions the session of a client id, or null (the subscription tree is keyed by client id)
     */
    public Router(EventLoop[] loops, Stats stats, Supplier<BrokerConfig> config, Function<String, Session> sessions) {
        this.loops = loops.clone();
        this.stats = stats;
        this.config = config;
        this.sessions = sessions;
    }

    /** A member of a share group chosen for a message: its session and its subscription. */
    public record Member(Session session, Subscription subscription) {
    }

    /** Starts routing one message: match it against the subscription tree with the result, then dispatch. */
    public Routing routing(Message message) {
        return new Routing(message);
    }

    /**
     * Picks the member of a share group for one message: round robin over the online members that keep up (not
     * {@link Session#congested()}); else, of the online ones that are behind but not stuck ({@link Session#stalled()}),
     * the one that made progress last; else the first stuck one in round-robin order, else the first offline one;
     * null if no member has a session any more (they are being removed from the tree). A member that falls behind is
     * passed over while another can take the message: with plain round robin it kept its share of the messages,
     * paused the publisher, and once it counted as stuck its share was refused (0x97) although the other members
     * were idle.
     */
    public Member chooseMember(SubscriptionTree.SharedGroup<String, Subscription> group) {
        return chooseMember(group, null);
    }

    /**
     * As {@link #chooseMember(SubscriptionTree.SharedGroup)}; when every online member is behind and the one chosen
     * is not stuck, the other members behind and not stuck are noted in {@code routing}
     * ({@link Routing#alsoWaitFor}): a publisher paused for the chosen one is resumed by whichever catches up first.
     */
    private Member chooseMember(SubscriptionTree.SharedGroup<String, Subscription> group, Routing routing) {
        List<Map.Entry<String, Subscription>> members = group.members();
        int n = members.size();
        int start = group.next();
        Session behind = null;
        Subscription behindSub = null;
        Session stuck = null;
        Subscription stuckSub = null;
        Session offline = null;
        Subscription offlineSub = null;
        for (int i = 0; i < n; i++) {
            Map.Entry<String, Subscription> e = members.get((start + i) % n);
            Session s = sessions.apply(e.getKey());
            if (s == null) {
                continue;
            }
            if (s.online) {
                if (!s.congested()) {
                    return new Member(s, e.getValue());
                }
                if (s.stalled()) {
                    if (stuck == null) {
                        stuck = s;
                        stuckSub = e.getValue();
                    }
                    continue;
                }
                if (behind == null) {
                    behind = s;
                    behindSub = e.getValue();
                } else {
                    Session other = s;
                    if (s.lastProgressNanos() - behind.lastProgressNanos() > 0) {
                        // the one that made progress last is the likelier to catch up first
                        other = behind;
                        behind = s;
                        behindSub = e.getValue();
                    }
                    if (routing != null) {
                        routing.alsoWaitFor(other);
                    }
                }
            } else if (offline == null) {
                offline = s;
                offlineSub = e.getValue();
            }
        }
        return behind != null ? new Member(behind, behindSub)
                : stuck != null ? new Member(stuck, stuckSub)
                : offline != null ? new Member(offline, offlineSub) : null;
    }

    /**
     * The routing of one message: collects its targets while the subscription tree is matched (one delivery per
     * session, overlapping subscriptions merged, one member per share group), then {@link #dispatch()}es them. The
     * targets beyond the first are kept in a small array, searched linearly while it is short (an index by session
     * only beyond {@link #LINEAR_TARGETS}), and the hand-offs go out as one {@link Handoff} per other loop: a message
     * for a few sessions allocates little more than its deliveries.
     */
    public final class Routing implements SubscriptionTree.Visitor<String, Subscription> {
        private final Message message;
        private Session first;
        private Target firstTarget;
        /** The other targets, normal and shared ({@link Target#shared}), in the order they matched. */
        private Target[] more;
        private int moreCount;
        /** The normal targets of {@link #more} by session, once there are more than {@link #LINEAR_TARGETS}. */
        private IdentityHashMap<Session, Target> index;
        /** A congested target whose queue.full.policy is throttle: it throttles the publisher on its own. */
        private Session forcedThrottle;
        /** A congested target with policy auto (it throttles the publisher if no target can take the message). */
        private Session congested;
        /**
         * Up to {@link #MORE_CONGESTED} more congested targets with policy auto, made when a message has several:
         * the publisher waits for whichever of them catches up first.
         */
        private Session[] moreCongested;
        private int moreCongestedCount;
        /** True once a target that can take the message now (not congested) was seen. */
        private boolean anyFree;

        Routing(Message message) {
            this.message = message;
        }

        @Override
        public void subscription(String clientId, Subscription sub) {
            if (sub.noLocal() && clientId.equals(message.publisherId())) {
                return;
            }
            Session s = sessions.apply(clientId);
            if (s == null) {
                return; // its session is ending: it is being removed from the tree
            }
            if (first == null) {
                first = s;
                firstTarget = new Target(s, sub);
                return;
            }
            if (first == s) {
                firstTarget.merge(sub);
                return;
            }
            Target t = find(s);
            if (t == null) {
                add(new Target(s, sub));
            } else {
                t.merge(sub);
            }
        }

        /** The normal (not shared) target of {@link #more} for this session, or null. */
        private Target find(Session s) {
            if (index != null) {
                return index.get(s);
            }
            for (int i = 0; i < moreCount; i++) {
                Target t = more[i];
                if (t.session == s && t.shared == null) {
                    return t;
                }
            }
            return null;
        }

        private void add(Target t) {
            if (more == null) {
                more = new Target[4];
            } else if (moreCount == more.length) {
                more = java.util.Arrays.copyOf(more, moreCount * 2);
            }
            more[moreCount++] = t;
            if (t.shared != null) {
                return;
            }
            if (index != null) {
                index.put(t.session, t);
            } else if (moreCount > LINEAR_TARGETS) {
                index = new IdentityHashMap<>();
                for (int i = 0; i < moreCount; i++) {
                    if (more[i].shared == null) {
                        index.put(more[i].session, more[i]);
                    }
                }
            }
        }

        @Override
        public void sharedGroup(SubscriptionTree.SharedGroup<String, Subscription> group) {
            Member chosen = chooseMember(group, this);
            if (chosen == null) {
                return;
            }
            Target t = new Target(chosen.session(), chosen.subscription());
            t.shared = chosen.subscription();
            add(t);
        }

        /**
         * The session whose congestion is to pause the publisher, or null: a target with queue.full.policy
         * throttle that is congested, or, with policy auto, a congested target when no target could take the
         * message at once. A slow subscriber that receives what others receive too thus costs the others nothing
         * (its queue fills to its bound and overflows for it alone), while a fan-in whose only subscriber is the
         * bottleneck slows its publishers down instead of overflowing.
         */
        public Session throttleFor() {
            if (forcedThrottle != null) {
                return forcedThrottle;
            }
            return anyFree ? null : congested;
        }

        /**
         * With policy auto, the other congested targets the publisher also waits for when {@link #throttleFor()}
         * names one: any of them that catches up resumes it. Without this, a fast subscriber that is briefly behind
         * beside a slow one whose queue stays long would leave the publisher paused until the 500 ms safety net
         * whenever the slow one happened to be the target it waited for. {@code count} entries are valid.
         */
        public Session[] alsoThrottleFor() {
            return forcedThrottle != null || anyFree || moreCongested == null ? NO_SESSIONS : moreCongested;
        }

        /**
         * Notes a session behind (congested, not stuck) that the publisher also waits for if the message pauses it,
         * although the message does not go there: another member of a share group whose chosen member is behind too.
         */
        void alsoWaitFor(Session s) {
            if (s.queueFullPolicy != QueueFullPolicy.DROP) {
                addMoreCongested(s);
            }
        }

        /** Adds {@code s} to {@link #moreCongested}, unless it holds {@link #MORE_CONGESTED} already. */
        private void addMoreCongested(Session s) {
            if (moreCongestedCount >= MORE_CONGESTED) {
                return;
            }
            if (moreCongested == null) {
                moreCongested = new Session[MORE_CONGESTED];
            }
            moreCongested[moreCongestedCount++] = s;
        }

        /** How many entries of {@link #alsoThrottleFor()} are valid. */
        public int alsoThrottleForCount() {
            return forcedThrottle != null || anyFree ? 0 : moreCongestedCount;
        }

        public RouteResult dispatch() {
            if (first == null && moreCount == 0) {
                return RouteResult.NO_TARGETS;
            }
            if (moreCount == 0) {
                return send(firstTarget);
            }
            int targets = moreCount + (first == null ? 0 : 1);
            // one hand-off per other event loop; deliveries for sessions of this loop run at once
            Handoff[] perLoop = null;
            int takenHere = 0;
            int otherLoops = 0;
            for (int i = first == null ? 0 : -1; i < moreCount; i++) {
                Target t = i < 0 ? firstTarget : more[i];
                Delivery d = t.delivery(message);
                Session s = t.session;
                boolean here = s.loop.inEventLoop();
                int a = admit(s, d, here);
                if (a != HAND_OFF) {
                    takenHere += a;
                } else if (here) {
                    if (s.deliver(d)) {
                        takenHere++;
                    }
                } else {
                    if (perLoop == null) {
                        perLoop = new Handoff[loops.length];
                    }
                    Handoff h = perLoop[s.loopIndex];
                    if (h == null) {
                        h = perLoop[s.loopIndex] = new Handoff(Math.min(targets, 8));
                        otherLoops++;
                    }
                    h.add(s, d);
                    s.addPendingDelivery();
                }
            }
            if (otherLoops == 0) {
                return RouteResult.done(targets, takenHere);
            }
            RouteResult result = RouteResult.pending(targets, otherLoops + 1);
            for (int i = 0; i < perLoop.length; i++) {
                if (perLoop[i] != null) {
                    handOff(loops[i], perLoop[i], result);
                }
            }
            result.part(takenHere);
            return result;
        }

        private RouteResult send(Target t) {
            Delivery d = t.delivery(message);
            Session s = t.session;
            boolean here = s.loop.inEventLoop();
            int a = admit(s, d, here);
            if (a != HAND_OFF) {
                return RouteResult.done(1, a);
            }
            if (here) {
                return RouteResult.done(1, s.deliver(d) ? 1 : 0);
            }
            RouteResult result = RouteResult.pending(1, 1);
            s.addPendingDelivery();
            Handoff h = new Handoff(1);
            h.add(s, d);
            handOff(s.loop, h, result);
            return result;
        }

        /**
         * Runs the deliveries on their sessions' loop; they count in the sessions' pending deliveries until then.
         * The result learns how many were taken.
         */
        private void handOff(EventLoop loop, Handoff h, RouteResult result) {
            h.result = result;
            try {
                loop.execute(h);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                for (int k = 0; k < h.count; k++) {
                    h.sessions[k].removePendingDelivery();
                }
                stats.publishDropped.add(h.count); // broker stopping
                result.part(0);
            }
        }

        /**
         * Decides, on the publisher's loop, whether a delivery is handed to its session: {@link #HAND_OFF}, or
         * 1 if it counts as taken without a hand-off (an offline session that does not queue QoS 0), 0 if it is
         * refused here (the subscriber's loop is far behind: {@link Session#MAX_PENDING_DELIVERIES} hand-offs wait
         * for it; or its queue is full, {@link Session#refusesQueued}). Notes congestion for {@link #throttleFor()}
         * first, so a full target still throttles as a congested one does.
         */
        private int admit(Session s, Delivery d, boolean here) {
            if (!here) {
                int pending = s.pendingDeliveries();
                if (pending >= Session.THROTTLE_PENDING_DELIVERIES) {
                    // the broker's own loop is behind: throttle whatever the policy, it is the broker's overload
                    forcedThrottle = s;
                    if (pending >= Session.MAX_PENDING_DELIVERIES) {
                        stats.publishDropped.increment();
                        return 0;
                    }
                }
                if (s.connection == null && d.qos() == 0 && !config.get().queueQos0()) {
                    return 1; // nothing to queue: not worth a hand-off
                }
            }
            if (s.congested() && !s.stalled()) {
                if (s.queueFullPolicy == QueueFullPolicy.THROTTLE) {
                    forcedThrottle = s;
                } else if (s.queueFullPolicy == QueueFullPolicy.AUTO) {
                    if (congested == null) {
                        congested = s;
                    } else if (congested != s) {
                        addMoreCongested(s);
                    }
                }
            } else {
                anyFree = true;
            }
            if (!here && s.refusesQueued(d, config.get())) {
                return 0; // its queue is full: dropped (counted) here rather than on its loop
            }
            return HAND_OFF;
        }
    }

    private static final int HAND_OFF = -1;

    /** Congested targets a publisher waits for besides the first (see {@link Routing#alsoThrottleFor()}). */
    static final int MORE_CONGESTED = 3;
    private static final Session[] NO_SESSIONS = new Session[0];

    /** Targets of one message kept in an array (searched linearly) before an index by session is built. */
    static final int LINEAR_TARGETS = 8;

    /**
     * The deliveries of one message for the sessions of one other event loop, run on that loop as one task; each
     * counts in its session's pending deliveries until then. The result learns how many were taken.
     */
    private static final class Handoff implements Runnable {
        Session[] sessions;
        Delivery[] deliveries;
        int count;
        RouteResult result;

        Handoff(int capacity) {
            sessions = new Session[capacity];
            deliveries = new Delivery[capacity];
        }

        void add(Session s, Delivery d) {
            if (count == sessions.length) {
                sessions = java.util.Arrays.copyOf(sessions, count * 2);
                deliveries = java.util.Arrays.copyOf(deliveries, count * 2);
            }
            sessions[count] = s;
            deliveries[count++] = d;
        }

        @Override
        public void run() {
            int taken = 0;
            for (int k = 0; k < count; k++) {
                Session s = sessions[k];
                s.removePendingDelivery();
                if (s.deliver(deliveries[k])) {
                    taken++;
                }
                s.maybeRelease();
            }
            result.part(taken);
        }
    }

    private static final class Target {
        final Session session;
        int qos;
        boolean retainAsPublished;
        int[] ids;
        /** The shared subscription this target was chosen for (never merged with others), or null. */
        Subscription shared;

        Target(Session session, Subscription sub) {
            this.session = session;
            this.qos = sub.qos();
            this.retainAsPublished = sub.retainAsPublished();
            this.ids = sub.subscriptionId() == 0 ? Delivery.NO_IDS : new int[] {sub.subscriptionId()};
        }

        void merge(Subscription sub) {
            qos = Math.max(qos, sub.qos());
            retainAsPublished |= sub.retainAsPublished();
            if (sub.subscriptionId() != 0) {
                int[] n = java.util.Arrays.copyOf(ids, ids.length + 1);
                n[ids.length] = sub.subscriptionId();
                ids = n;
            }
        }

        Delivery delivery(Message m) {
            return new Delivery(m, Math.min(m.qos(), qos), retainAsPublished && m.retain(), ids, shared, 0);
        }
    }
}
