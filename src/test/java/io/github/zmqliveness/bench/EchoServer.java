package io.github.zmqliveness.bench;

import io.github.zmqliveness.CurveKeyPair;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.SendResult;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The three echo servers the benchmarks compare, all bound to {@code tcp://127.0.0.1:*}.
 * Each echoes every message it receives back to its sender, frames unchanged.
 */
public abstract class EchoServer implements AutoCloseable {
    /** ZMTP heartbeat of the raw ROUTERs: the LivenessRouter's defaults at heartbeat 1 s x 3 (PING every 1.5 s, timeout half of it). */
    static final int HEARTBEAT_IVL_MS = 1500;
    static final int HEARTBEAT_TIMEOUT_MS = 750;

    /** Which server sits behind the endpoint. */
    public enum Kind {
        /** A plain JeroMQ ROUTER (ROUTER_MANDATORY + ROUTER_HANDOVER) and a thread that echoes: the baseline. */
        RAW,
        /** LivenessRouter with a MessageHandler that calls send() on the router's own loop thread. */
        HANDLER,
        /** LivenessRouter with an application thread that calls receive() then send(). */
        RECEIVE,
        /** RAW with CurveZMQ (no ZAP handler: any client key is accepted), the baseline for the CURVE kind below. */
        RAW_CURVE,
        /** HANDLER with {@code curve(...)}: every client key is authorized for an identity named after it. */
        HANDLER_CURVE,
        /** A caller-driven LivenessRouter: one application thread calls receive() (which turns the loop inline) then send(). */
        CALLER,
        /**
         * A caller-driven LivenessRouter in an application's own ZMQ.Poller (its pollHandle()), echoing from a
         * MessageHandler that runs inside doWork(): the broker style.
         */
        CALLER_POLL
    }

    /** The servers' CurveZMQ key pair (one per JVM), for the CURVE kinds. */
    static final CurveKeyPair CURVE_KEYS = CurveKeyPair.generate();

    /** The public key a client must use, or null if this server does not speak CURVE. */
    byte[] curveServerKey() {
        return null;
    }

    /** Sends that were not QUEUED (or raw sends that failed): must stay 0 for the figures to mean anything. */
    final AtomicLong failedSends = new AtomicLong();

    abstract String endpoint();

    @Override
    public abstract void close();

    static EchoServer start(Kind kind) {
        switch (kind) {
            case RAW: return new Raw(false);
            case HANDLER: return new Handler(false);
            case RECEIVE: return new Receive();
            case RAW_CURVE: return new Raw(true);
            case HANDLER_CURVE: return new Handler(true);
            case CALLER: return new Driven(false);
            case CALLER_POLL: return new Driven(true);
            default: throw new AssertionError(kind);
        }
    }

    /** The baseline: the loop an application writes around a bare ROUTER. */
    static final class Raw extends EchoServer {
        private final CountDownLatch bound = new CountDownLatch(1);
        private final Thread thread;
        private volatile boolean running = true;
        private volatile String endpoint;
        private final boolean curve;

        Raw(boolean curve) {
            this.curve = curve;
            thread = new Thread(this::run, "raw-router-echo");
            thread.setDaemon(true);
            thread.start();
            try {
                if (!bound.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("raw router did not bind within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private void run() {
            try (ZContext ctx = new ZContext(1)) {
                ZMQ.Socket router = ctx.createSocket(SocketType.ROUTER);
                router.setRouterMandatory(true);
                router.setRouterHandover(true);
                router.setLinger(0);
                router.setSndHWM(1000);
                router.setHeartbeatIvl(HEARTBEAT_IVL_MS);
                router.setHeartbeatTimeout(HEARTBEAT_TIMEOUT_MS);
                router.setReceiveTimeOut(100);
                if (curve) {
                    router.setCurveServer(true);
                    router.setCurveSecretKey(CURVE_KEYS.secretKeyBytes());
                }
                router.bind("tcp://127.0.0.1:*");
                endpoint = router.getLastEndpoint();
                bound.countDown();
                while (running) {
                    byte[] identity = router.recv(0);
                    if (identity == null) {
                        continue; // receive timeout: look at the stop flag
                    }
                    byte[] body = router.recv(0);
                    try {
                        if (!router.send(identity, ZMQ.SNDMORE | ZMQ.DONTWAIT) || !router.send(body, 0)) {
                            failedSends.incrementAndGet();
                        }
                    } catch (ZMQException e) {
                        failedSends.incrementAndGet(); // EHOSTUNREACH: the dealer is gone
                    }
                }
            } finally {
                bound.countDown();
            }
        }

        @Override
        String endpoint() {
            return endpoint;
        }

        @Override
        byte[] curveServerKey() {
            return curve ? CURVE_KEYS.publicKeyBytes() : null;
        }

        @Override
        public void close() {
            running = false;
            join(thread);
        }
    }

    /** LivenessRouter, echoing from a MessageHandler on the loop thread. */
    static final class Handler extends EchoServer {
        private volatile LivenessRouter router;
        private final boolean curve;

        Handler(boolean curve) {
            this.curve = curve;
            LivenessRouter.Builder b = configured(LivenessRouter.builder().bind("tcp://127.0.0.1:*").handler(this::echo));
            if (curve) {
                b.curve(CURVE_KEYS.secretKey(), key -> List.of(Identity.of("key-" + CurveKeyPair.encode(key))));
            }
            router = b.build();
        }

        @Override
        byte[] curveServerKey() {
            return curve ? CURVE_KEYS.publicKeyBytes() : null;
        }

        private void echo(Message m) {
            LivenessRouter r = router;
            if (r == null || r.send(m.identity(), m.first()) != SendResult.QUEUED) {
                failedSends.incrementAndGet();
            }
        }

        @Override
        String endpoint() {
            return router.endpoints().get(0);
        }

        @Override
        public void close() {
            router.close();
        }
    }

    /** LivenessRouter, echoing from an application thread in the pull style. */
    static final class Receive extends EchoServer {
        private final LivenessRouter router;
        private final Thread thread;
        private volatile boolean running = true;

        Receive() {
            router = configured(LivenessRouter.builder().bind("tcp://127.0.0.1:*")).build();
            thread = new Thread(this::run, "receive-echo");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            Duration wait = Duration.ofMillis(100);
            while (running) {
                Message m = router.receive(wait);
                if (m != null && router.send(m.identity(), m.first()) != SendResult.QUEUED) {
                    failedSends.incrementAndGet();
                }
            }
        }

        @Override
        String endpoint() {
            return router.endpoints().get(0);
        }

        @Override
        public void close() {
            running = false;
            join(thread);
            router.close();
        }
    }

    /** A caller-driven LivenessRouter, built and driven by one application thread. */
    static final class Driven extends EchoServer {
        private final CountDownLatch bound = new CountDownLatch(1);
        private final Thread thread;
        private final boolean poll;
        private volatile boolean running = true;
        private volatile LivenessRouter router;

        Driven(boolean poll) {
            this.poll = poll;
            thread = new Thread(this::run, poll ? "caller-poll-echo" : "caller-echo");
            thread.setDaemon(true);
            thread.start();
            try {
                if (!bound.await(10, TimeUnit.SECONDS) || router == null) {
                    throw new IllegalStateException("caller-driven router did not bind within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private void echo(LivenessRouter r, Message m) {
            if (r.send(m.identity(), m.first()) != SendResult.QUEUED) {
                failedSends.incrementAndGet();
            }
        }

        private void run() {
            LivenessRouter.Builder b = configured(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven());
            if (poll) {
                b.handler(this::echo);
            }
            try (LivenessRouter r = b.build(); ZContext ctx = new ZContext(1)) {
                router = r;
                bound.countDown();
                if (poll) {
                    ZMQ.Poller poller = ctx.createPoller(1);
                    poller.register(r.pollHandle(), ZMQ.Poller.POLLIN);
                    while (running) { // the README's loop: poll no longer than timeUntilWork(), doWork() after every poll
                        poller.poll(r.timeUntilWork().toMillis());
                        r.doWork();
                    }
                } else {
                    Duration wait = Duration.ofMillis(100);
                    while (running) {
                        Message m = r.receive(wait);
                        if (m != null) {
                            echo(r, m);
                        }
                    }
                }
            } finally {
                bound.countDown();
            }
        }

        @Override
        String endpoint() {
            return router.endpoints().get(0);
        }

        @Override
        public void close() {
            running = false;
            join(thread);
        }
    }

    static void join(Thread thread) {
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code -Dbench.ioThreads=N} sets the LivenessRouter's JeroMQ I/O threads (default: the builder's). */
    static LivenessRouter.Builder configured(LivenessRouter.Builder b) {
        Integer io = Integer.getInteger("bench.ioThreads");
        return io == null ? b : b.ioThreads(io);
    }
}
