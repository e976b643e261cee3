package io.github.zmqliveness.examples;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;

/**
 * The Guide's Lazy Pirate client, used by both queues' tests and the latency benchmark: a REQ socket that waits
 * {@code timeoutMillis} for a reply, and on silence drops the socket and asks again on a new one.
 */
public final class LazyPirateClient implements AutoCloseable {
    private final ZContext ctx = new ZContext(1);
    private final String endpoint;
    private final int timeoutMillis;
    private ZMQ.Socket req;
    /** Requests asked again after a timeout. */
    public int retries;

    public LazyPirateClient(String endpoint, int timeoutMillis) {
        this.endpoint = endpoint;
        this.timeoutMillis = timeoutMillis;
        open();
    }

    private void open() {
        req = ctx.createSocket(SocketType.REQ);
        req.setLinger(0);
        req.setReceiveTimeOut(timeoutMillis);
        req.connect(endpoint);
    }

    /** The reply to {@code body}, asking at most {@code attempts} times; null if none came. */
    public String request(String body, int attempts) {
        for (int i = 0; i < attempts; i++) {
            req.send(body);
            byte[] reply = req.recv();
            if (reply != null) {
                return new String(reply, StandardCharsets.UTF_8);
            }
            retries++;
            ctx.destroySocket(req);
            open();
        }
        return null;
    }

    @Override
    public void close() {
        ctx.close();
    }
}
