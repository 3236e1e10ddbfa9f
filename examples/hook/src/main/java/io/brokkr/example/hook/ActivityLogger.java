package io.brokkr.example.hook;

import io.brokkr.api.intercept.BrokerEvent;
import io.brokkr.api.intercept.MessageObserver;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An asynchronous hook: logs connections, subscriptions and received messages on its own thread (a slow log never
 * slows a client; if it falls behind, events for it are dropped and counted, see {@code mqtt:observers}). Replace the
 * log line with a call to your own system. It shares the example's cfg, and its service properties pick the events.
 */
@Component(name = "io.brokkr.example.hook.activity", configurationPid = "io.brokkr.example.hook",
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = MessageObserver.class,
        property = {MessageObserver.NAME + "=example-activity-log",
            MessageObserver.EVENTS + "=connected,disconnected,subscribed,unsubscribed,message_received",
            MessageObserver.QUEUE_SIZE + ":Integer=10000"})
public class ActivityLogger implements MessageObserver {

    private static final Logger LOG = LoggerFactory.getLogger(ActivityLogger.class);

    /** A change of the shared cfg concerns the interceptor only: without this, DS would restart this component. */
    @Modified
    void modified() {
    }

    @Override
    public void onEvent(BrokerEvent e) {
        switch (e.type()) {
            case MESSAGE_RECEIVED -> LOG.info("{} {} published {} bytes to '{}' (QoS {}) at {}", e.clientId(),
                    e.username(), e.message().payload().length, e.message().topic(), e.qos(), e.datetime());
            case SUBSCRIBED, UNSUBSCRIBED -> LOG.info("{} {} {} '{}'", e.clientId(), e.username(),
                    e.type().name().toLowerCase(), e.topicFilter());
            default -> LOG.info("{} {} {}", e.clientId(), e.username(), e.type().name().toLowerCase());
        }
    }
}
