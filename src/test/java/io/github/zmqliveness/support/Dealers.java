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

    /** A raw protocol client's socket and the first message it received: its WELCOME, or data that came ahead of it. */
    public static final class Opened {
        public final ZMQ.Socket socket;
        public final byte[] first;

        Opened(ZMQ.Socket socket, byte[] first) {
            this.socket = socket;
            this.first = first;
        }
    }

    /**
     * A DEALER that says {@code hello} (a ZLP HELLO) first on its one connection and never reconnects, with a receive
     * high-water mark of {@code rcvHwm}. JeroMQ now and then leaves a fresh outgoing connection stuck in its ZMTP
     * handshake (it never sends its greeting; shared/research): such a socket gives up after 1 s and a new one is
     * tried, up to 5 times, as a real client would. The first message is null only if all 5 got nothing in 2 s.
     */
    public static Opened protocolClient(ZContext ctx, String identity, byte[] hello, String endpoint, int rcvHwm) {
        ZMQ.Socket s = null;
        byte[] first = null;
        for (int attempt = 0; attempt < 5 && first == null; attempt++) {
            if (s != null) {
                ctx.destroySocket(s);
            }
            s = ctx.createSocket(SocketType.DEALER);
            s.setIdentity(identity.getBytes(StandardCharsets.UTF_8));
            s.setLinger(0);
            s.setReconnectIVL(-1); // never back once the router shuts its connection
            s.setHandshakeIvl(1_000);
            s.setReceiveTimeOut(2_000);
            s.setSndHWM(100_000);
            s.setRcvHWM(rcvHwm);
            s.setHelloMsg(hello);
            s.connect(endpoint);
            first = s.recv();
        }
        return new Opened(s, first);
    }

    public static ZContext context() {
        ZContext ctx = new ZContext(1);
        ctx.setLinger(0);
        return ctx;
    }
}
