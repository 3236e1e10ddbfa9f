package io.brokkr.api;

/**
 * A network listener.
 *
 * @param name         listener name (the {@code <name>} of {@code etc/io.brokkr.broker.listener-<name>.cfg})
 * @param type         listener type, e.g. "tcp"
 * @param host         bind address
 * @param port         bound port (the actual port when 0 was configured)
 * @param bound        whether the listener is accepting connections
 * @param connections  connections currently open through it
 * @param error        why the listener is not bound (e.g. "cannot bind 0.0.0.0:1883: Address already in use"),
 *                     or null
 */
public record ListenerInfo(String name, String type, String host, int port, boolean bound, int connections,
                           String error) {
}
