package io.github.zmqliveness.support;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;

/** Plain JeroMQ DEALERs, configured as a typical unmodified client would be. */
public final class Dealers {
    private Dealers() {
    }

    /** A DEALER with {@code identity} (null: none, ZeroMQ makes one up), connected to {@code endpoint}. */
    public static ZMQ.Socket connect(ZContext ctx, String identity, String endpoint) {
        ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
        if (identity != null) {
            s.setIdentity(identity.getBytes(StandardCharsets.UTF_8));
        }
        s.setLinger(0);
        s.setReconnectIVL(50);
        s.setHandshakeIvl(1000);
        s.setReceiveTimeOut(5000);
        s.setSendTimeOut(1000);
        s.connect(endpoint);
        return s;
    }

    public static ZContext context() {
        ZContext ctx = new ZContext(1);
        ctx.setLinger(0);
        return ctx;
    }
}
