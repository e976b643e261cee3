package io.github.zmqliveness.examples;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

/**
 * A Majordomo client (MDP/0.1, the Guide's synchronous client API), used by both brokers' tests and the latency
 * benchmark: a REQ socket sends [MDPC01, service, body] and waits {@code timeoutMillis} for [MDPC01, service, reply];
 * on silence it drops the socket and asks again on a new one.
 */
public final class MajordomoClient implements AutoCloseable {
    public static final String CLIENT = "MDPC01";
    private final ZContext ctx = new ZContext(1);
    private final String endpoint;
    private final int timeoutMillis;
    private ZMQ.Socket req;
    /** Requests asked again after a timeout. */
    public int retries;

    public MajordomoClient(String endpoint, int timeoutMillis) {
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

    /** The reply of {@code service} to {@code body}, asking at most {@code attempts} times; null if none came. */
    public String request(String service, String body, int attempts) {
        for (int i = 0; i < attempts; i++) {
            ZMsg request = new ZMsg();
            request.addString(CLIENT);
            request.addString(service);
            request.addString(body);
            request.send(req);
            ZMsg reply = ZMsg.recvMsg(req);
            if (reply != null) {
                if (reply.size() != 3 || !CLIENT.equals(reply.popString()) || !service.equals(reply.popString())) {
                    throw new IllegalStateException("not a Majordomo reply from " + service + ": " + reply);
                }
                return reply.popString();
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
