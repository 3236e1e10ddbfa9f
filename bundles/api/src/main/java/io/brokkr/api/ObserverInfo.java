package io.brokkr.api;

/**
 * An asynchronous observer ({@code io.brokkr.api.intercept.MessageObserver}) and its queue.
 *
 * @param name       the observer's name
 * @param queued     events waiting in its queue
 * @param capacity   the bound of its queue
 * @param delivered  events it has been given
 * @param dropped    events dropped because its queue was full
 * @param failed     events for which it threw an exception
 */
public record ObserverInfo(String name, int queued, int capacity, long delivered, long dropped, long failed) {
}
