package io.brokkr.broker.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A session that catches up resumes each publisher that waited for it once, although a resumed publisher may find
 * the session congested again at once and add itself back while the release is still under way.
 */
class ResumeAllTest {

    @Test
    void publishersThatAddThemselvesBackWhileBeingReleasedAreResumedOnce() {
        Set<ClientChannel> waiting = ConcurrentHashMap.newKeySet();
        int publishers = 4;
        AtomicInteger[] resumed = new AtomicInteger[publishers];
        for (int i = 0; i < publishers; i++) {
            resumed[i] = new AtomicInteger();
            waiting.add(publisher(waiting, resumed[i]));
        }
        Session.resumeAll(waiting);
        for (int i = 0; i < publishers; i++) {
            assertEquals(1, resumed[i].get(), "publisher " + i + " resumed more than once by one release");
        }
        // each added itself back (congested again): the next release resumes them
        assertEquals(publishers, waiting.size());
        Session.resumeAll(waiting);
        for (int i = 0; i < publishers; i++) {
            assertEquals(2, resumed[i].get());
        }
    }

    @Test
    void aPublisherThatLeftTheSetMeanwhileIsNotResumed() {
        Set<ClientChannel> waiting = ConcurrentHashMap.newKeySet();
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        ClientChannel b = publisher(waiting, second);
        ClientChannel a = channel(() -> {
            first.incrementAndGet();
            waiting.remove(b); // b resumed itself meanwhile (it saw the session drained)
        });
        waiting.add(a);
        waiting.add(b);
        Session.resumeAll(waiting);
        assertEquals(1, first.get());
        assertEquals(0, second.get(), "resumed although it was no longer waiting"); // one bin: a is met first
        assertTrue(waiting.isEmpty());
    }

    /**
     * A publisher on another loop, as the release sees it: resumed, it routes a message at once, finds the session
     * congested again and adds itself back. All share one hash, so they share a bin of the set: a walk of the set
     * that resumes as it goes meets each one it put back again (up to a bound here; without one it never ends).
     */
    private static ClientChannel publisher(Set<ClientChannel> waiting, AtomicInteger resumed) {
        ClientChannel[] self = new ClientChannel[1];
        self[0] = channel(() -> {
            if (resumed.incrementAndGet() < 1_000) {
                waiting.add(self[0]);
            }
        });
        return self[0];
    }

    private static ClientChannel channel(Runnable onResume) {
        return (ClientChannel) Proxy.newProxyInstance(ClientChannel.class.getClassLoader(),
                new Class<?>[] {ClientChannel.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "resumeReading" -> {
                        onResume.run();
                        yield null;
                    }
                    case "hashCode" -> 42;
                    case "equals" -> proxy == args[0];
                    case "toString" -> "publisher@" + System.identityHashCode(proxy);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
