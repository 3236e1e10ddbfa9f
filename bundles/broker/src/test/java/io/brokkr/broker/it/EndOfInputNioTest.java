package io.brokkr.broker.it;

import java.util.Map;

/**
 * {@link EndOfInputTest} on Netty's NIO transport ({@code transport.native = false}). NIO sees the client's FIN only
 * when it reads, so it never dropped the held packets the way epoll did (epoll reports the FIN while reads are
 * paused); this checks that the half-closed connections the listeners now allow end properly on NIO too.
 */
class EndOfInputNioTest extends EndOfInputTest {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("transport.native", "false");
        return m;
    }
}
