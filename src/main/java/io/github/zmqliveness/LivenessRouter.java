package io.github.zmqliveness;

import io.github.zmqliveness.transport.RouterConfig;
import io.github.zmqliveness.transport.RouterLoop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A ZeroMQ ROUTER that knows which identities are alive and really evicts the ones that are not.
 *
 * <p>It owns one JeroMQ ROUTER socket (ROUTER_MANDATORY and ROUTER_HANDOVER on) and a table of
 * peers by identity. A peer joins with its first message. It leaves when its connection closes,
 * when the ZMTP heartbeat (PING/PONG, answered by every libzmq 4.2+, NetMQ and JeroMQ peer)
 * finds the link dead or frozen, when a peer that speaks this library's protocol misses
 * {@code liveness} heartbeats, when the application calls {@link #evict}, or when two clients
 * fight over its identity. Leaving releases the connection itself: its pipe, its queued messages
 * and its file descriptor; a live peer sees the disconnect and may reconnect.
 *
 * <p>When an identity arrives on a new connection (a client that changed network), the old
 * connection is shut at once and {@link PeerEvent.Type#TOOK_OVER} is raised; ZeroMQ alone would
 * leave it open forever.
 *
 * <p><b>Migrating from a raw ROUTER loop.</b> Where the loop did {@code recv} of the routing frame
 * and the body, call {@link #receive()} and read {@link Message#identity()} and
 * {@link Message#frames()}; where it sent the routing frame and the body, call
 * {@link #send(Identity, byte[]...)}. Or give the builder a {@link MessageHandler}, which runs on
 * the router's own thread with no hand-off. Or build it {@link Builder#callerDriven() caller-driven}:
 * no thread of its own, your thread drives it ({@link #receive(Duration)}, or {@link #doWork()} from
 * your own {@code ZMQ.Poller} where {@link #pollHandle()} sits beside your other sockets).
 *
 * <p><b>Threading.</b> Every public method is thread-safe. Only the router's loop thread
 * ({@code zmq-liveness-router-N}, N numbering the routers of the JVM from 1) touches the socket; a
 * caller-driven router has no such thread, and only the thread driving it (one at a time) touches
 * the socket. {@link #send} never blocks: it queues the message
 * for the loop and says what happened. Messages to one identity are written in the order
 * {@code send} accepted them. Listeners run on {@code zmq-liveness-events-N} (see {@link PeerListener}).
 *
 * <pre>{@code
 * try (LivenessRouter router = LivenessRouter.builder()
 *         .bind("tcp://*:5555")
 *         .heartbeatInterval(Duration.ofSeconds(1))
 *         .liveness(3)
 *         .listener(event -> log.info("{}", event))
 *         .build()) {
 *     while (running) {
 *         Message m = router.receive(Duration.ofMillis(100));
 *         if (m != null) router.send(m.identity(), m.first());
 *     }
 * }
 * }</pre>
 */
public final class LivenessRouter implements AutoCloseable {
    private final RouterLoop loop;

    private LivenessRouter(RouterConfig config, java.util.function.Consumer<LivenessRouter> beforeStart) {
        this.loop = new RouterLoop(config);
        beforeStart.accept(this); // a RouterMessageHandler's router, known before the first message
        loop.start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The endpoints actually bound, with the port resolved (for {@code tcp://127.0.0.1:*}). */
    public List<String> endpoints() {
        return loop.endpoints();
    }

    /**
     * Queues a message for whichever session holds {@code identity}; never blocks.
     *
     * <p>The frame arrays are not copied: do not modify them after the call. On a
     * {@link Builder#callerDriven() caller-driven} router that no thread is driving at the moment
     * (between two {@code receive} or {@code doWork} calls), the sending thread writes the message
     * itself at once; otherwise the loop writes it. The message is written when the peer's pipe has
     * room; one that waits longer than the message time to live is dropped and counted
     * ({@code droppedExpired}). To a protocol client the message belongs to
     * the session current when it was accepted: if the client restarts before it is written, it is
     * dropped ({@code droppedStaleSession}), never delivered to the new instance. To a plain DEALER
     * it goes to whichever connection holds the identity when it is written. To answer exactly the
     * life that sent a message, use {@link #reply} or {@link #send(Session, byte[]...)}.
     *
     * @return {@link SendResult#QUEUED} if accepted; otherwise why it was not (nothing is queued)
     */
    public SendResult send(Identity identity, byte[]... frames) {
        return loop.send(Objects.requireNonNull(identity, "identity"), null, frames, null);
    }

    /** As {@link #send(Identity, byte[]...)}, with the frames in a list. */
    public SendResult send(Identity identity, List<byte[]> frames) {
        return loop.send(Objects.requireNonNull(identity, "identity"), null, frames.toArray(new byte[0][]), null);
    }

    /** As {@link #send(Identity, byte[]...)}, dropping the message if it cannot be written within {@code ttl}. */
    public SendResult send(Identity identity, Duration ttl, byte[]... frames) {
        return loop.send(Objects.requireNonNull(identity, "identity"), null, frames, checkTtl(ttl));
    }

    /**
     * Queues a message for {@code session} only; never blocks. If the session has ended or been
     * replaced (its client restarted, a plain DEALER reconnected), returns
     * {@link SendResult#STALE_SESSION} and queues nothing; if it ends after the message is
     * accepted but before it is written, the message is dropped ({@code droppedStaleSession}). A
     * message for one life of a client never reaches another. Order, limits and time to live as
     * for {@link #send(Identity, byte[]...)}; while a protocol client is away within the resume
     * window the result is {@link SendResult#PARKED}.
     */
    public SendResult send(Session session, byte[]... frames) {
        Objects.requireNonNull(session, "session");
        return loop.send(session.identity(), session, frames, null);
    }

    /** As {@link #send(Session, byte[]...)}, dropping the message if it cannot be written within {@code ttl}. */
    public SendResult send(Session session, Duration ttl, byte[]... frames) {
        Objects.requireNonNull(session, "session");
        return loop.send(session.identity(), session, frames, checkTtl(ttl));
    }

    /**
     * Answers the session that sent {@code request}: the same as {@code send(request.session(), frames)}.
     * Safe to call from a {@link MessageHandler} (the reply is written as soon as the handler returns) or
     * from any other thread.
     */
    public SendResult reply(Message request, byte[]... frames) {
        Objects.requireNonNull(request, "request");
        if (request.session() == null) {
            throw new IllegalArgumentException("the message carries no session: it was not received by a LivenessRouter");
        }
        return send(request.session(), frames);
    }

    /** As {@link #reply(Message, byte[]...)}, with the frames in a list. */
    public SendResult reply(Message request, List<byte[]> frames) {
        return reply(request, frames.toArray(new byte[0][]));
    }

    private static Duration checkTtl(Duration ttl) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("time to live must be positive, got " + ttl);
        }
        return ttl;
    }

    /**
     * The next message, waiting at most {@code timeout}; null if none came. Messages from one
     * connection come in the order it sent them. After {@link #close()}, the messages already
     * received are still handed out, then null at once. On a caller-driven router it turns the
     * loop on the calling thread while it waits (see {@link #doWork()}): a thread that only calls
     * {@code receive} and {@link #send} is a complete server, with no other thread in between.
     *
     * @throws IllegalStateException if the router was built with a {@link MessageHandler}
     */
    public Message receive(Duration timeout) {
        try {
            return loop.receive(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Waits at most {@code timeout} for a message, then takes the ones already waiting too, up to
     * {@code max} in all, and adds them to {@code into} in order. One hand-off for many messages:
     * the cheaper way to drain a busy router from an application thread.
     *
     * @return how many messages were added (0 if none came)
     */
    public int receive(List<Message> into, int max, Duration timeout) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be at least 1, got " + max);
        }
        try {
            return loop.receive(into, max, timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /** The next message, waiting until one comes; null once the router is closed and drained, or the thread interrupted. */
    public Message receive() {
        while (true) {
            boolean running = loop.isRunning();
            Message m = receive(Duration.ofMillis(100));
            if (m != null) {
                return m;
            }
            if (!running || Thread.currentThread().isInterrupted()) {
                return null;
            }
        }
    }

    /**
     * Caller-driven mode ({@link Builder#callerDriven()}): runs one turn of the router on the calling thread. It
     * applies connection events, answers what other threads asked ({@link #peers()}, {@link #evict}...), reads
     * what the socket holds (up to 4,096 messages; protocol commands are answered, application messages go to the
     * {@link MessageHandler} now, or to the queue that {@link #receive(Duration)} takes from), writes what
     * {@link #send} queued, and applies liveness deadlines. It never blocks, except in a handler.
     *
     * <p><b>What the driving thread must do.</b> After each {@code doWork()}, wait at most
     * {@link #timeUntilWork()} (zero if the turn left work, such as more messages than one turn reads) in its
     * own {@code ZMQ.Poller}, with {@link #pollHandle()} registered, which becomes readable as soon as there is
     * work; then call {@code doWork()} again, whether the handle was readable or not. A
     * router not driven for longer is stalled: it hears no peer meanwhile, and when driven again it reports a
     * {@link Stall} once the gap reaches one heartbeat interval and holds suspicion and eviction for one interval
     * (peers are not condemned for the router's own pause), but peers of this library see no WELCOME or heartbeat
     * meanwhile and give up on it after their own timeout. Not driving the router is also the way to apply
     * back-pressure: messages wait in the receive queue, then in a backlog as large, then in ZeroMQ's buffers.
     *
     * <p><b>Threads.</b> One thread at a time drives the router: {@code doWork()}, {@link #timeUntilWork()} and a
     * caller-driven {@code receive} exclude each other (a second thread waits). Every other method stays callable
     * from any thread: {@link #send} from another thread makes the handle readable; {@link #peers()} and
     * {@link #evict} are answered inline when nobody is driving, else by the driver's next turn.
     *
     * @return how much the turn did (messages read, calls answered, connection events); 0 if there was nothing
     *         to do, or the router is closed
     * @throws IllegalStateException if the router runs its own loop thread (built without {@code callerDriven()})
     */
    public int doWork() {
        return loop.doWork();
    }

    /**
     * Caller-driven mode: how long the driving thread may wait before its next {@link #doWork()}. Zero when there
     * is work now; else until the next liveness deadline, at most 500 ms. Call it right before polling, and use it
     * as the poll's timeout ({@code poller.poll(router.timeUntilWork().toMillis())}).
     *
     * @throws IllegalStateException if the router runs its own loop thread
     */
    public Duration timeUntilWork() {
        return Duration.ofNanos(loop.timeUntilWorkNanos());
    }

    /**
     * Caller-driven mode: a channel to register in the application's own poller
     * ({@code poller.register(router.pollHandle(), ZMQ.Poller.POLLIN)}, beside its other sockets). It becomes
     * readable when the router has work: a message or a connection from a peer, a {@link #send} or a question
     * from another thread. It is ZeroMQ's kind of handle: readable means "call {@link #doWork()}", not "a message
     * is there"; so after each poll, readable or not, call {@code doWork()} and wait no longer than
     * {@link #timeUntilWork()}. Only for registering: never read it, write it or close it.
     *
     * @throws IllegalStateException if the router runs its own loop thread, or is closed
     */
    public java.nio.channels.SelectableChannel pollHandle() {
        return loop.pollHandle();
    }

    /**
     * Removes {@code identity} from the table and shuts its connection: queued messages are
     * dropped (counted), a protocol client is told why first, and a live peer may reconnect and
     * join again. Waits until the loop has done it.
     *
     * @return false if the identity was not in the table (or is quarantined)
     */
    public boolean evict(Identity identity) {
        return loop.evict(Objects.requireNonNull(identity, "identity"));
    }

    /** A consistent copy of the whole peer table, taken on the loop thread. */
    public List<PeerSnapshot> peers() {
        return new ArrayList<>(loop.snapshot());
    }

    /** One peer's row, if it is in the table. */
    public Optional<PeerSnapshot> peer(Identity identity) {
        return Optional.ofNullable(loop.snapshot(Objects.requireNonNull(identity, "identity")));
    }

    /** Peers in the table as of the loop's last turn (cheap; no hand-off). */
    public int peerCount() {
        return loop.peerCount();
    }

    /** The counters since start. */
    public RouterStats stats() {
        return new RouterStats(loop.counters());
    }

    /** TCP connections the router holds open now, identified or not (diagnostics). */
    public int connectionCount() {
        return loop.connectionCount();
    }

    /**
     * True from {@code build()} until {@link #close()} is called or the loop thread stops on a fatal error: a readiness
     * probe. Thread-safe.
     */
    public boolean isRunning() {
        return loop.isRunning();
    }

    /**
     * Waits until the router has stopped: closed by another thread (for example a shutdown hook), or its loop ended on
     * a fatal error. The router's threads are daemons, so a {@code main} that only serves calls this to keep the JVM
     * up: {@code router.awaitTermination(Duration.ofDays(365))}. Thread-safe.
     *
     * @return true if it stopped, false if the timeout passed first
     * @throws InterruptedException if the waiting thread is interrupted
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return loop.awaitStopped(java.util.Objects.requireNonNull(timeout, "timeout"));
    }

    /**
     * Tells protocol clients the router is going (DISCONNECT(SHUTTING_DOWN), each with its own
     * return time, spread as {@link Builder#maxJoinsPerSecond} describes) and waits until those are
     * written (at most 1 s, and at most half the close timeout: a peer that does not read holds it
     * that long), then releases the loop thread, the socket, its connections and file descriptors,
     * and delivers the events still queued to the listener; all within the close timeout. Idempotent.
     */
    @Override
    public void close() {
        loop.close();
    }

    /**
     * The ZMTP PING interval used unless one is set: max(1, liveness / 2) heartbeat intervals, with
     * a timeout of half that. A dead or frozen link is then found within 1.5 PING intervals, at most
     * 3/4 of the bound (interval x liveness + interval) and 56 % of it at the default liveness 3,
     * while a live peer on a busy machine gets longer to answer than with the shortest setting
     * (interval, interval / 2), which evicted healthy peers when the load average of a 2-core
     * machine reached 8.
     */
    static Duration defaultTransportInterval(Duration heartbeatInterval, int liveness) {
        return heartbeatInterval.multipliedBy(Math.max(2, liveness)).dividedBy(2);
    }

    /**
     * Builds a {@link LivenessRouter}. Every setting has a default fit for production except the
     * endpoint, which is required. Not thread-safe; {@link #build()} may be called more than once.
     */
    public static final class Builder {
        private final List<String> endpoints = new ArrayList<>();
        private Duration heartbeatInterval = Duration.ofSeconds(1);
        private int liveness = 3;
        private boolean transportHeartbeat = true;
        private Duration transportHeartbeatInterval;
        private Duration transportHeartbeatTimeout;
        private Duration handshakeInterval = Duration.ofSeconds(5);
        private boolean tcpKeepAlive = true;
        private Duration tcpKeepAliveIdle = Duration.ofSeconds(60);
        private int maxMessageSize = 16 << 20;
        private int maxQueuedMessages = 1000;
        private long maxQueuedBytes = 16 << 20;
        private Duration messageTtl = Duration.ofSeconds(30);
        private int sendHighWaterMark = 1000;
        private int maxConnections = defaultMaxConnections(openFileLimit());
        private boolean acceptLegacyZmtp;
        private int acceptBacklog = 1024;
        private int ioThreads = 1;
        private int conflictThreshold = 3;
        private Duration conflictWindow = Duration.ofSeconds(10);
        private Duration quarantine = Duration.ofSeconds(30);
        private int receiveQueueCapacity = 10_000;
        private Duration closeTimeout = Duration.ofSeconds(5);
        private Duration resumeWindow = Duration.ofSeconds(10);
        private double maxJoinsPerSecond;
        private PeerListener listener;
        private MessageHandler handler;
        private RouterMessageHandler routerHandler;
        private boolean callerDriven;
        private byte[] curveSecretKey;
        private KeyAuthorizer authorizer;
        private int maxConnectionsPerHost;
        private int maxUnheardConnections;

        private Builder() {
        }

        /** An endpoint to bind, such as {@code tcp://*:5555} or {@code tcp://127.0.0.1:*} (any free port). Repeatable; at least one. */
        public Builder bind(String endpoint) {
            endpoints.add(Objects.requireNonNull(endpoint, "endpoint"));
            return this;
        }

        /**
         * How often peers are expected to be heard (default 1 s). Protocol clients heartbeat at this
         * interval; the ZMTP PING interval derives from it unless {@link #transportHeartbeat(Duration, Duration)} says otherwise.
         */
        public Builder heartbeatInterval(Duration interval) {
            this.heartbeatInterval = Checks.positive(interval, "heartbeat interval");
            return this;
        }

        /**
         * Missed intervals before a protocol peer is evicted (default 3). A dead peer is evicted within
         * {@code interval x liveness} plus one interval.
         */
        public Builder liveness(int liveness) {
            this.liveness = Checks.liveness(liveness);
            return this;
        }

        /** Turns the ZMTP PING/PONG heartbeat on (default) or off. Off, a half-open connection of a peer that sends no heartbeats of ours is only found by TCP keepalive. */
        public Builder transportHeartbeat(boolean enabled) {
            this.transportHeartbeat = enabled;
            return this;
        }

        /**
         * The ZMTP PING interval and the time to wait for traffic after each PING. The timeout must be
         * shorter than the interval: JeroMQ 0.6.0 re-arms its heartbeat timer wrongly when it is not,
         * and then often never notices a dead peer. By default the interval is max(1, liveness / 2)
         * heartbeat intervals and the timeout half of it, so a dead link is found well within the bound.
         */
        public Builder transportHeartbeat(Duration interval, Duration timeout) {
            Checks.transportHeartbeat(interval, timeout);
            this.transportHeartbeat = true;
            this.transportHeartbeatInterval = interval;
            this.transportHeartbeatTimeout = timeout;
            return this;
        }

        /** How long a new connection may take to complete the ZMTP handshake (default 5 s). */
        public Builder handshakeInterval(Duration interval) {
            this.handshakeInterval = Checks.positive(interval, "handshake interval");
            return this;
        }

        /**
         * Whether peers that speak ZMTP 1.0 or 2.0 (ZeroMQ 2.x and 3.x) are served (default false). When false, such a
         * greeting is refused at once and its connection closed; so are random bytes, which JeroMQ would otherwise
         * read as a ZMTP 1.0 peer and keep as a member for good (no ZMTP heartbeat reaches a 1.0 peer). Every ZeroMQ
         * from 4.0 on (libzmq, JeroMQ, NetMQ, pyzmq) speaks ZMTP 3.
         */
        public Builder acceptLegacyZmtp(boolean accept) {
            this.acceptLegacyZmtp = accept;
            return this;
        }

        /**
         * At most this many open connections from one host (IP address); 0, the default, for no limit beyond
         * {@link #maxConnections(int)}. A connection over the limit is closed as soon as it is accepted, counted
         * ({@code connectionsRefused}, {@code connectionsRefusedPerHost}) and reported ({@link PeerEvent.Type#REFUSED},
         * reason {@link RefusalReason#LIMIT}). Mind clients behind one NAT address.
         */
        public Builder maxConnectionsPerHost(int connections) {
            this.maxConnectionsPerHost = Checks.atLeast(connections, 0, "max connections per host");
            return this;
        }

        /**
         * At most this many open connections that have not sent a message yet: in their handshake, or silent (a plain
         * DEALER that only receives stays unheard); 0, the default, for no limit. Bounds what a flood of connections
         * that never finish their handshake can hold within {@link #handshakeInterval(Duration)}. Over the limit a new
         * connection is closed as soon as it is accepted, counted ({@code connectionsRefused},
         * {@code connectionsRefusedUnheard}) and reported (REFUSED, reason LIMIT). Set it above the clients that may
         * reconnect at once (a router restart brings them all back together).
         */
        public Builder maxUnheardConnections(int connections) {
            this.maxUnheardConnections = Checks.atLeast(connections, 0, "max unheard connections");
            return this;
        }

        /**
         * Encrypts and authenticates every connection with CurveZMQ (JeroMQ's own, pure Java), and binds identities to
         * keys. Clients must connect with CURVE and this router's public key ({@link CurveKeyPair#fromSecret(String)}
         * computes it); a client whose key {@code authorizer} does not know is refused in the handshake (event
         * {@link PeerEvent.Type#REFUSED}, reason {@link RefusalReason#UNKNOWN_KEY}); peers without CURVE cannot connect.
         *
         * <p>An accepted connection is served under its key's first identity (or another of its key's identities that a
         * {@link DealerClient} names in its HELLO; one its key may not use is refused, REFUSED with reason
         * {@link RefusalReason#IDENTITY_NOT_AUTHORIZED}), <b>whatever routing id it claims</b>: the
         * router gives each connection a routing id of its own in the handshake and never lets the socket's handover
         * decide who gets an identity. So a client can never receive a message for an identity its key is not
         * authorized for, whether or not it ever sends, and cannot disturb the client that holds it. The same key on a
         * new connection is the same client moving: {@link PeerEvent.Type#TOOK_OVER}, the old connection shut.
         *
         * @param secretKey the router's secret key, 40 Z85 characters
         * @throws IllegalArgumentException if the key is not a key
         */
        public Builder curve(String secretKey, KeyAuthorizer authorizer) {
            return curve(CurveKeyPair.decode(secretKey, "router secret key"), authorizer);
        }

        /** As {@link #curve(String, KeyAuthorizer)}, with the secret key as 32 bytes. */
        public Builder curve(byte[] secretKey, KeyAuthorizer authorizer) {
            this.curveSecretKey = CurveKeyPair.checkLength(secretKey, "router secret key").clone();
            this.authorizer = Objects.requireNonNull(authorizer, "authorizer (for example AuthorizedKeys.load(path))");
            return this;
        }

        /** TCP keepalive on accepted connections (default on, first probe after 60 s idle): a backstop below ZMTP. */
        public Builder tcpKeepAlive(boolean enabled, Duration idle) {
            this.tcpKeepAlive = enabled;
            this.tcpKeepAliveIdle = Checks.positive(idle, "keepalive idle time");
            return this;
        }

        /**
         * The largest message accepted either way, in bytes (default 16 MiB). A received frame over it makes
         * ZeroMQ drop the connection before allocating it; a message whose frames add up to more is dropped and counted.
         */
        public Builder maxMessageSize(int bytes) {
            Checks.positive(bytes, "max message size");
            this.maxMessageSize = bytes;
            return this;
        }

        /**
         * Per-identity limits of messages accepted by {@link #send} and not yet written (default 1000
         * messages, 16 MiB). Beyond them, send returns {@link SendResult#DROPPED_QUEUE_FULL}. ZeroMQ's
         * own pipe holds up to {@link #sendHighWaterMark} more.
         */
        public Builder queueLimits(int messages, long bytes) {
            this.maxQueuedMessages = Checks.positive(messages, "queue limit (messages)");
            this.maxQueuedBytes = Checks.positive(bytes, "queue limit (bytes)");
            return this;
        }

        /** How long a sent message may wait for its peer's pipe before it is dropped (default 30 s). */
        public Builder messageTtl(Duration ttl) {
            this.messageTtl = Checks.positive(ttl, "message time to live");
            return this;
        }

        /** ZeroMQ's per-peer send high-water mark (default 1000 messages). */
        public Builder sendHighWaterMark(int messages) {
            Checks.positive(messages, "send high-water mark");
            this.sendHighWaterMark = messages;
            return this;
        }

        /**
         * Connections held at once; beyond it new connections are shut at once, counted and logged. The default leaves
         * room in the process's file-descriptor limit: 90 % of it, at most the limit minus 256 (65,536 when the limit
         * is unknown). With the limit of 20,000 that is 18,000. At the limit itself JeroMQ's I/O thread spins on a
         * failing accept, so the router must shut connections before the process runs out.
         */
        public Builder maxConnections(int connections) {
            Checks.positive(connections, "max connections");
            this.maxConnections = connections;
            return this;
        }

        /** The default of {@link #maxConnections}, given the process's open-file limit (0 if unknown). */
        static int defaultMaxConnections(long fdLimit) {
            if (fdLimit <= 0) {
                return 65_536;
            }
            long keep = Math.max(fdLimit / 10, Math.min(256, fdLimit / 2));
            return (int) Math.max(1, Math.min(65_536, fdLimit - keep));
        }

        private static long openFileLimit() {
            java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            if (os instanceof com.sun.management.UnixOperatingSystemMXBean) {
                return ((com.sun.management.UnixOperatingSystemMXBean) os).getMaxFileDescriptorCount();
            }
            return 0;
        }

        /**
         * The listening socket's accept queue: connections the kernel has completed but the router
         * has not yet taken (default 1,024; the kernel caps it at {@code net.core.somaxconn}). Too
         * small, and a reconnect storm overflows it: the kernel drops connection attempts, or
         * completes connections it then forgets, and those clients wait for TCP retransmissions or
         * their handshake timeout (30 s for ZeroMQ's default) before trying again. Too big, and a
         * connection can wait in the queue longer than its client's handshake timeout, so the
         * client gives up on it and the router accepts it for nothing. Keep it below the rate at
         * which the router completes handshakes (a few hundred per second per core, see
         * BENCHMARKS.md) times the shortest handshake timeout of your clients.
         */
        public Builder acceptBacklog(int connections) {
            Checks.positive(connections, "accept backlog");
            this.acceptBacklog = connections;
            return this;
        }

        /**
         * JeroMQ I/O threads (default 1): they run the ZMTP handshakes, heartbeats and TCP reads and
         * writes, each connection on one thread. JeroMQ 0.6.0's I/O thread walks every connection
         * it holds whenever one of them starts or stops waiting to write (every ZMTP PING, for
         * example), so its cost grows with the square of the connections per thread. With
         * thousands of peers use 4: on 2 cores, 4,000 peers then joined 1.6 times faster and
         * rejoined after a restart 3 times faster. With few peers and high message rates keep 1:
         * more threads cost hand-offs (half the echo throughput with 8 dealers on 2 cores).
         */
        public Builder ioThreads(int threads) {
            Checks.positive(threads, "I/O threads");
            this.ioThreads = threads;
            return this;
        }

        /**
         * When an identity is taken over {@code takeovers} times within {@code window} (default 3 in
         * 10 s), two live clients share it: it is quarantined for {@code quarantine} (default 30 s),
         * during which every connection presenting it is shut and sends to it are refused. A protocol
         * client that moves to a new connection and says HELLO with the instance id it used before is
         * the same client reconnecting: that takeover does not count.
         */
        public Builder conflictPolicy(int takeovers, Duration window, Duration quarantine) {
            if (takeovers < 2) {
                throw new IllegalArgumentException("a conflict takes at least 2 takeovers, got " + takeovers);
            }
            this.conflictThreshold = takeovers;
            this.conflictWindow = Checks.positive(window, "conflict window");
            this.quarantine = Checks.positive(quarantine, "quarantine");
            return this;
        }

        /**
         * Messages {@link #receive} can hold (default 10,000). When they are all waiting, the router goes on reading
         * (heartbeats and other protocol commands are still answered) and holds up to as many messages again, handed
         * out in order after them; only then does it stop reading the socket, and that pause counts as a stall.
         */
        public Builder receiveQueueCapacity(int messages) {
            Checks.positive(messages, "receive queue capacity");
            this.receiveQueueCapacity = messages;
            return this;
        }

        /** The bound on {@link LivenessRouter#close()} (default 5 s). */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = Checks.positive(timeout, "close timeout");
            return this;
        }

        /**
         * How long the session of a protocol client (one that said HELLO) is kept after its
         * connection is lost (default 10 s): sends to it return {@link SendResult#PARKED} and are held,
         * within the queue limits and time to live. If the same client instance comes back asking to
         * resume, they are delivered in order; a new instance, or one starting clean, never sees
         * them (dropped, counted as {@code droppedStaleSession}). {@code Duration.ZERO} turns parking off.
         */
        public Builder resumeWindow(Duration window) {
            Objects.requireNonNull(window, "resume window");
            if (window.isNegative()) {
                throw new IllegalArgumentException("resume window must not be negative, got " + window);
            }
            this.resumeWindow = window;
            return this;
        }

        /**
         * Paces a reconnect storm: at most this many protocol clients are admitted per second (with a
         * burst of one second's worth); the others get DISCONNECT(TRY_LATER) with a retry-after hint
         * spread over the backlog, and come back later. Plain DEALERs are never paced. Default: no limit.
         * On {@link LivenessRouter#close()} protocol clients are told to return one slot apart at
         * this rate (at 500 per second without a limit), so a restart does not bring them back as one herd.
         */
        public Builder maxJoinsPerSecond(double rate) {
            if (!(rate > 0)) {
                throw new IllegalArgumentException("join rate must be positive, got " + rate);
            }
            this.maxJoinsPerSecond = rate;
            return this;
        }

        /** Receives peer events (see {@link PeerListener} for its thread). Optional. */
        public Builder listener(PeerListener listener) {
            this.listener = listener;
            return this;
        }

        /** Handles messages on the loop thread instead of {@link LivenessRouter#receive()}. Optional. */
        public Builder handler(MessageHandler handler) {
            this.handler = handler;
            this.routerHandler = null;
            return this;
        }

        /**
         * As {@link #handler(MessageHandler)}, for a handler that is handed the router with each message (to reply
         * from a lambda given here, which cannot name the router being built). Replaces a handler set before.
         */
        public Builder handler(RouterMessageHandler handler) {
            this.routerHandler = handler;
            this.handler = null;
            return this;
        }

        /**
         * No loop thread: the application's own thread drives the router, by calling
         * {@link LivenessRouter#doWork()} (from its own poll loop, woken by {@link LivenessRouter#pollHandle()}), or
         * {@link LivenessRouter#receive(Duration)}, which turns the loop inline until a message comes. Messages go
         * from the socket to that thread with no hand-off between threads; a {@link MessageHandler}, if set, runs
         * inside {@code doWork()}. {@code build()} opens the socket on the calling thread. See
         * {@link LivenessRouter#doWork()} for what the driving thread must do. Off by default.
         */
        public Builder callerDriven() {
            this.callerDriven = true;
            return this;
        }

        /**
         * Binds and starts the router.
         *
         * @throws IllegalArgumentException if no endpoint was given or one cannot be bound
         */
        public LivenessRouter build() {
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("no endpoint to bind: call bind(\"tcp://*:5555\") or similar");
            }
            Duration zmtpIvl = transportHeartbeatInterval != null ? transportHeartbeatInterval
                    : defaultTransportInterval(heartbeatInterval, liveness);
            Duration zmtpTimeout = transportHeartbeatTimeout != null ? transportHeartbeatTimeout : zmtpIvl.dividedBy(2);
            if (zmtpTimeout.toMillis() < 1) {
                throw new IllegalArgumentException("heartbeat interval " + heartbeatInterval + " is too short: the transport timeout would be under 1 ms");
            }
            java.util.concurrent.atomic.AtomicReference<LivenessRouter> self = new java.util.concurrent.atomic.AtomicReference<>();
            RouterMessageHandler withRouter = routerHandler;
            MessageHandler handler = withRouter == null ? this.handler : m -> withRouter.onMessage(self.get(), m);
            RouterConfig config = new RouterConfig(endpoints, heartbeatInterval, liveness, transportHeartbeat, zmtpIvl, zmtpTimeout,
                    handshakeInterval, tcpKeepAlive, tcpKeepAliveIdle, maxMessageSize, maxQueuedMessages, maxQueuedBytes, messageTtl,
                    sendHighWaterMark, maxConnections, acceptBacklog, ioThreads, conflictThreshold, conflictWindow, quarantine, receiveQueueCapacity,
                    closeTimeout, resumeWindow, maxJoinsPerSecond, acceptLegacyZmtp, listener, handler, curveSecretKey, authorizer,
                    maxConnectionsPerHost, maxUnheardConnections, callerDriven);
            return new LivenessRouter(config, self::set);
        }

    }
}
