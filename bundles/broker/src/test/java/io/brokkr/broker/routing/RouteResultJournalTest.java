package io.brokkr.broker.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.journal.JournalFullException;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link RouteResult#awaitingJournal()}: the result that the journal's writer completes directly (the broker's path
 * for a QoS 1/2 message a sink takes), in every order its two parts can report.
 */
class RouteResultJournalTest {

    @Test
    void aMessageOnlyTheJournalTookIsAcknowledgedWithSuccessOnceItIsJournalled() {
        RouteResult r = RouteResult.awaitingJournal();
        AtomicInteger fired = new AtomicInteger();
        assertEquals(r, r.afterRouting(RouteResult.NO_TARGETS));
        r.whenDone(fired::incrementAndGet);
        assertFalse(r.isDone(), "not acknowledged before the journal has it");
        assertEquals(0, fired.get());
        r.appended(1);
        assertTrue(r.isDone());
        assertEquals(1, fired.get());
        assertEquals(0, r.reasonCode(), "the journal counts as a target that took it");
        assertEquals(1, r.targets());
        assertFalse(r.storeFailed());
    }

    @Test
    void theJournalMayReportBeforeTheRoutingIsJoined() {
        RouteResult r = RouteResult.awaitingJournal();
        r.appended(7); // the writer thread can be faster than the router
        assertFalse(r.isDone());
        RouteResult routed = RouteResult.pending(2, 1);
        r.afterRouting(routed);
        assertFalse(r.isDone(), "a session target on another loop has not taken it yet");
        AtomicInteger fired = new AtomicInteger();
        r.whenDone(fired::incrementAndGet);
        routed.part(2);
        assertTrue(r.isDone());
        assertEquals(1, fired.get());
        assertEquals(3, r.targets());
        assertEquals(3, r.taken());
        assertEquals(0, r.reasonCode());
    }

    @Test
    void aFullJournalIsQuotaExceededAndAFailedOneAnUnspecifiedError() {
        RouteResult full = RouteResult.awaitingJournal();
        full.appendFailed(new JournalFullException("full"));
        full.afterRouting(RouteResult.done(1, 1));
        assertTrue(full.isDone());
        assertTrue(full.storeFailed());
        assertEquals(RouteResult.RC_QUOTA_EXCEEDED, full.reasonCode(), "even though a session took it");

        RouteResult failed = RouteResult.awaitingJournal();
        failed.afterRouting(RouteResult.NO_TARGETS);
        AtomicInteger fired = new AtomicInteger();
        failed.whenDone(fired::incrementAndGet);
        failed.appendFailed(new IOException("disk gone"));
        assertEquals(1, fired.get());
        assertTrue(failed.storeFailed());
        assertEquals(RouteResult.RC_UNSPECIFIED_ERROR, failed.reasonCode());
    }

    @Test
    void oneListenerServesManyResults() {
        AtomicInteger fired = new AtomicInteger();
        Runnable perConnection = fired::incrementAndGet;
        RouteResult[] rs = new RouteResult[5];
        for (int i = 0; i < rs.length; i++) {
            rs[i] = RouteResult.awaitingJournal().afterRouting(RouteResult.NO_TARGETS);
            rs[i].whenDone(perConnection);
        }
        for (int i = rs.length - 1; i >= 0; i--) {
            rs[i].appended(i + 1);
        }
        assertEquals(5, fired.get(), "each result tells the shared listener once");
    }
}
