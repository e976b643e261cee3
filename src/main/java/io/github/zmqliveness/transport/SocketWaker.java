package io.github.zmqliveness.transport;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Wakes a caller-driven router through its own ROUTER socket: an inproc DEALER connected to it sends one empty
 * message, which makes the ROUTER readable. So the one handle the application polls (the ROUTER's file descriptor)
 * reports both what peers sent and what other threads asked of the router (a send, a snapshot, a connection accepted
 * by the I/O thread, a CURVE grant); no second channel is needed. The loop recognises the message by the DEALER's
 * routing id, 0x00 and 16 random bytes: reserved (no peer may claim a 0x00 id) and not guessable.
 *
 * <p>As with {@link Waker}, at most one message is in flight, and only while the loop is outside its turn
 * ({@link #sleeping(boolean)}), so a burst of sends costs one inproc message, not one each.
 */
final class SocketWaker implements AutoCloseable {
    private static final byte[] EMPTY = new byte[0];
    private final ZMQ.Socket dealer;
    private final byte[] routingId;
    private final AtomicBoolean pending = new AtomicBoolean();
    private volatile boolean sleeping = true;
    private boolean closed;

    /** Connects to {@code endpoint}, an inproc endpoint the ROUTER is bound to, in the router's context. */
    SocketWaker(ZContext context, String endpoint) {
        routingId = new byte[17];
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        System.arraycopy(random, 0, routingId, 1, 16);
        dealer = context.createSocket(SocketType.DEALER);
        dealer.setIdentity(routingId);
        dealer.setLinger(0);
        dealer.setSndHWM(16); // one in flight at a time; a few more if a wake was taken but its message not yet read
        dealer.connect(endpoint);
    }

    /** True if {@code routingId} is this waker's: the message is a wake-up, not a peer's. */
    boolean isMine(byte[] routingId) {
        return routingId.length == 17 && routingId[0] == 0 && Arrays.equals(routingId, this.routingId);
    }

    /** The loop is outside its turn (true), or inside it (false): wakes are sent only while it is outside. */
    void sleeping(boolean value) {
        sleeping = value;
    }

    /** Makes the ROUTER readable, unless a wake-up is already on its way or the loop is in its turn. Any thread. */
    void wake() {
        if (sleeping && pending.compareAndSet(false, true)) {
            synchronized (this) {
                if (!closed && !dealer.send(EMPTY, ZMQ.DONTWAIT)) {
                    pending.set(false); // not sent (the pipe is full of wakes not yet read): nothing is in flight from us
                }
            }
        }
    }

    /** The loop read a wake-up: later wakes send again. */
    void received() {
        pending.set(false);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            dealer.close();
        }
    }
}
