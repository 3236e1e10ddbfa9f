package io.brokkr.broker.it;

import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * paho.mqtt.testing's {@code test_flow_control2} with a blocking client over TLS ({@link FlowControlTest} has it
 * over plain TCP): the client sends Receive Maximum + 1 QoS 2 PUBLISHes, then reads one packet at a time, answering
 * each PUBREC with a PUBREL, until it reads the DISCONNECT 0x93 that the broker sent before those PUBRELs arrived.
 * The broker must not reset the connection under the client (close_notify, then its half of the TCP connection,
 * reading on until the client closes), with either TLS provider and version.
 */
class TlsLingeringCloseTest extends TlsTestBase {

    @Override
    Map<String, String> config() {
        return FlowControlTest.withReceiveMaximum(super.config());
    }

    @ParameterizedTest
    @CsvSource({"jdk, TLSv1.3", "jdk, TLSv1.2", "openssl, TLSv1.3", "openssl, TLSv1.2"})
    void clientStillSendingWhenTheBrokerDisconnectsReadsTheDisconnect(String provider, String version)
            throws Exception {
        int p = tlsListener("linger-" + provider + "-" + version, pemOptions("tls.provider", provider));
        SSLContext ctx = certs.clientContext(null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", p)) {
            s.setEnabledProtocols(new String[] {version});
            s.startHandshake();
            FlowControlTest.flowControl2WithABlockingClient(s, id(provider.charAt(0) + version.substring(5)),
                    FlowControlTest.RECEIVE_MAXIMUM, broker);
        }
    }
}
