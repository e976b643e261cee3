package io.github.zmqliveness.cli;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A plain JeroMQ DEALER, as any client of a ROUTER would be: its own context, a routing id, ZMTP
 * heartbeats, and a small message every {@link #SEND_EVERY} from its own thread. The demo's
 * stand-in for a host.
 */
final class SimulatedClient implements AutoCloseable {
    static final Duration SEND_EVERY = Duration.ofMillis(300);
    /** The ZMTP heartbeat of the demo's router, as a well-configured client would use. */
    private static final int HEARTBEAT_IVL_MS = (int) DemoCommand.HEARTBEAT.toMillis();
    // JeroMQ 0.6.0 needs the heartbeat timeout below the interval to notice a dead link.
    private static final int HEARTBEAT_TIMEOUT_MS = HEARTBEAT_IVL_MS / 2;
    static final Duration HANDSHAKE_IVL = Duration.ofSeconds(1);
    private static final int RECONNECT_IVL_MS = 100;

    private final String name;
    private final byte[] identity;
    private final String endpoint;
    private final ZContext context = new ZContext(1);
    private final CountDownLatch stop = new CountDownLatch(1);
    private final CompletableFuture<Instant> closedAt = new CompletableFuture<>();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread thread;
    private final int handshakeMillis;
    private volatile Instant stopRequestedAt;

    /** A client called {@code name} (for the screen) presenting {@code identity} to the router at {@code endpoint}. Not started. */
    SimulatedClient(String name, String identity, String endpoint) {
        this(name, identity, endpoint, HANDSHAKE_IVL);
    }

    /** As above, giving up a connection whose ZMTP handshake has not completed within {@code handshake} (then reconnecting). */
    SimulatedClient(String name, String identity, String endpoint, Duration handshake) {
        this.name = name;
        this.identity = identity.getBytes(StandardCharsets.UTF_8);
        this.endpoint = endpoint;
        this.handshakeMillis = (int) handshake.toMillis();
        this.thread = new Thread(this::run, "client-" + name);
        this.thread.setDaemon(true);
    }

    String name() {
        return name;
    }

    /** Connects and starts sending; the first message goes out at once. */
    SimulatedClient start() {
        thread.start();
        return this;
    }

    long sent() {
        return sent.get();
    }

    /**
     * Drops the socket at once with nothing flushed (linger 0), as a killed process would, and
     * returns when that began. A router on a live link sees the connection close.
     */
    Instant crash() {
        return end();
    }

    /**
     * Stops sending and drops the socket, as a laptop leaving a network it can no longer reach:
     * through a frozen link the router hears nothing of it. Returns when that began.
     */
    Instant abandon() {
        return end();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (thread.isAlive() || !closedAt.isDone()) {
            end();
        }
        context.close();
    }

    private Instant end() {
        stopRequestedAt = Instant.now();
        stop.countDown();
        if (thread.getState() == Thread.State.NEW) {
            closedAt.complete(stopRequestedAt); // never started: nothing to close
        }
        try {
            return closedAt.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return stopRequestedAt;
        } catch (ExecutionException | TimeoutException e) {
            return stopRequestedAt;
        }
    }

    private void run() {
        ZMQ.Socket socket = context.createSocket(SocketType.DEALER);
        socket.setIdentity(identity);
        socket.setHeartbeatIvl(HEARTBEAT_IVL_MS);
        socket.setHeartbeatTimeout(HEARTBEAT_TIMEOUT_MS);
        socket.setHandshakeIvl(handshakeMillis);
        socket.setReconnectIVL(RECONNECT_IVL_MS);
        socket.setLinger(0);
        socket.connect(endpoint);
        try {
            long n = 0;
            do {
                // DONTWAIT: a client whose link is stuck must not block its own thread; the message is just lost.
                if (socket.send((name + " #" + n++).getBytes(StandardCharsets.UTF_8), ZMQ.DONTWAIT)) {
                    sent.incrementAndGet();
                }
            } while (!stop.await(SEND_EVERY.toMillis(), TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // The moment the fault began is when it was asked for, not when the socket finished closing.
            Instant at = stopRequestedAt != null ? stopRequestedAt : Instant.now();
            socket.close(); // linger 0: nothing is flushed
            closedAt.complete(at);
        }
    }
}
