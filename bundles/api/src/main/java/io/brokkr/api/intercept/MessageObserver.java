package io.brokkr.api.intercept;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * An asynchronous hook: sees what happens in the broker (connections, subscriptions, messages received and sent)
 * after the fact, on a thread of its own, and can take its time (call a web service, write a file) without slowing a
 * client. Use a {@link MessageInterceptor} to change or drop a message; use an observer to react to it.
 *
 * <p>Each observer has its own executor and a bounded queue ({@value #QUEUE_SIZE} service property, default 10,000
 * events). When the queue is full, events for this observer are dropped and counted, and a warning with the
 * observer's name is logged at most once per 10 s; nothing else is slowed. An exception thrown by {@link #onEvent}
 * is logged (at most once per 10 s) and the next event is delivered as usual. Events of one observer are delivered
 * one at a time, in the order they happened on each connection.
 *
 * <p>Service properties: {@value #NAME} (the name in logs and {@code mqtt:observers}; default the component name),
 * {@value #QUEUE_SIZE}, {@value #EVENTS} (which {@link BrokerEvent.Type}s to receive, comma separated; default all).
 */
@ConsumerType
public interface MessageObserver {

    String NAME = "observer.name";
    String QUEUE_SIZE = "observer.queue.size";
    String EVENTS = "observer.events";

    /** Called on the observer's own thread. */
    void onEvent(BrokerEvent event);
}
