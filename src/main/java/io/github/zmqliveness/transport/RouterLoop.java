package io.github.zmqliveness.transport;

import io.github.zmqliveness.AuthorizedKeys;
import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerListener;
import io.github.zmqliveness.PeerSnapshot;
import io.github.zmqliveness.PeerState;
import io.github.zmqliveness.RefusalReason;
import io.github.zmqliveness.SendResult;
import io.github.zmqliveness.Session;
import io.github.zmqliveness.Stall;
import io.github.zmqliveness.liveness.LivenessRules;
import io.github.zmqliveness.liveness.PeerRecord;
import io.github.zmqliveness.liveness.PeerTable;
import io.github.zmqliveness.protocol.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import zmq.Msg;
import zmq.SocketBase;
import zmq.ZError;
import zmq.io.Metadata;
import zmq.poll.PollItem;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.locks.LockSupport;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The router's engine: the thread and its turn, the ROUTER socket and its framing. Each turn it
 * polls the socket and a wake-up pipe, takes the connection events JeroMQ's I/O thread reported,
 * reads messages and hands each to the {@link ProtocolServer}, runs tasks other threads handed it,
 * writes queued sends (tagging each message to a protocol client with its session), and applies
 * due deadlines through {@link Membership}. The other rooms: {@link Connections} (the TCP
 * connections), {@link Sessions} and {@link Outboxes} (what is sent to whom), {@link Inbox} (what
 * the application receives).
 *
 * <p>Other threads talk to it only through concurrent queues ({@link #send}, {@link #call}) and
 * counters; they never see the socket or the peer table.
 */
public final class RouterLoop {
    private static final Logger log = LoggerFactory.getLogger("io.github.zmqliveness.LivenessRouter");
    private static final int RECEIVE_BATCH = 4096;
    private static final long MAX_POLL_MILLIS = 500;
    /** The metadata property under which JeroMQ gives each message the router's own {@code ip:port} of its connection. */
    private static final String SELF_ADDRESS = "X-Self-Address";
    /** Set only to make JeroMQ refuse pre-ZMTP-3 greetings (see open()); no ZAP handler ever answers it. */
    private static final String LEGACY_REFUSING_ZAP_DOMAIN = "zmq-liveness";

    /** A connection event from JeroMQ's I/O thread. */
    private static final class TransportEvent {
        final boolean accepted;
        final SocketChannel channel;
        /** For ACCEPTED: the connection's key (see Connections#key). */
        final String key;

        TransportEvent(boolean accepted, SocketChannel channel, String key) {
            this.accepted = accepted;
            this.channel = channel;
            this.key = key;
        }
    }

    private final RouterConfig config;
    private final PeerTable table;
    private final Counters counters = new Counters();
    /** How the loop thread counts: no atomic read-modify-write. Other threads use {@link #counters}. */
    private final Counters.Owner loopCounters = counters.owner();
    private final RateLimitedLog badInput = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
    private final EventDispatcher<Object> events;
    /**
     * Wakes whoever waits for the loop's next turn (the loop thread blocked in its receive, or the application's poll
     * on the handle) through the ROUTER itself; set once the socket is open.
     */
    private volatile SocketWaker socketWaker;
    private final boolean callerDriven;
    /** Caller-driven mode: held by the thread that is driving the loop (doWork, receive, or a call run inline). */
    private final java.util.concurrent.locks.ReentrantLock driveLock = new java.util.concurrent.locks.ReentrantLock();
    /** The last turn left messages on the socket: turn again before waiting. Loop thread (or, caller-driven, under driveLock). */
    private boolean more;
    /** Caller-driven, under driveLock: when the last doWork returned; how long the caller may wait since. */
    private long lastReturnAt;
    private long allowedWaitNanos;
    private boolean finished;
    /** Messages read, calls run and connection events taken in the current turn (doWork's answer; unused when threaded). */
    private int turnWork;
    /** {@link #socketWaker} as the loop sees it (a plain field, read for every message). */
    private SocketWaker ownWaker;
    private final long intervalNanos;
    private final long evictionGraceNanos;
    private final long confirmTimeoutNanos;

    // shared with other threads
    private final ConcurrentLinkedQueue<TransportEvent> transportEvents = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Call<?>> tasks = new ConcurrentLinkedQueue<>();
    private final Outboxes outboxes;
    private final Sessions sessions;
    private final Inbox inbox;
    /** Loop only: when deadlines were last applied, and how long the loop waited in polls since, as it asked. */
    private long lastTickAt;
    private long askedPollNanos;
    /** A loop this much later than it asked has stalled: deadlines are held (see PeerTable#stalled). */
    private final long stallThresholdNanos;
    private final Membership membership;
    private final ProtocolServer protocol;
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile Throwable startFailure;
    private volatile List<String> boundEndpoints = List.of();
    private volatile int peerCount;
    private final Thread thread;

    // loop thread only
    private ZContext context;
    private ZMQ.Socket socket;
    private SocketBase base;
    /** The ROUTER's receive timeout as last set (see waitForMessage). */
    private long rcvTimeoutMillis = -1;
    private final Connections connections;
    /** DISCONNECTED events taken, waiting until the messages their connections pushed before dying are read. */
    private final List<TransportEvent> pendingDisconnects = new ArrayList<>();
    private final Outboxes.Writer writer = new Outboxes.Writer() {
        @Override
        public boolean write(Outbox ob, byte[][] frames, long bytes) {
            return RouterLoop.this.write(ob, frames, bytes);
        }

        @Override
        public boolean writeControl(Outbox ob, byte[] command) {
            return RouterLoop.this.writeControl(ob, command);
        }
    };
    private final List<byte[]> frameBuffer = new ArrayList<>();
    /** What the loop derives once per connection from the metadata JeroMQ shares among the connection's messages. */
    private static final class ConnMeta {
        /** The connection key (see Connections#key), or null if the metadata has no address. */
        final String key;
        /** CURVE: the name of the connection's grant ({@link Authenticator#CONNECTION_PROPERTY}); null without CURVE. */
        final String grantName;
        /** CURVE: the grant, once found. */
        Authenticator.Grant grant;

        ConnMeta(String key, String grantName) {
            this.key = key;
            this.grantName = grantName;
        }
    }

    private final Map<Metadata, ConnMeta> metaByMetadata = new java.util.IdentityHashMap<>();
    /** CURVE: the handshake's grants, null without CURVE. */
    private Authenticator authenticator;
    private long refusedEventsWindowStart;
    private int refusedEventsInWindow;
    private long authorizerGeneration = -1;
    private long nextAuthorizationCheck;
    /**
     * What ZeroMQ hands us as {@code [identity, marker]} when an identified connection dies
     * (ZMQ_DISCONNECT_MSG): random per router, so no peer can forge it. It tells which identity's
     * pipe is gone even when the connection's address is unknown (legacy ZMTP peers carry none).
     */
    private final byte[] disconnectMarker = newMarker();
    /**
     * Without join pacing, the rate at which a closing router spreads its protocol peers' return:
     * about what one router with one I/O thread admits per second on a small machine (BENCHMARKS.md).
     */
    static final double UNPACED_RETURN_RATE = 500;
    /** Longest wait, on close, for the DISCONNECTs to be written (bounded by half the close timeout too). */
    private static final long CLOSE_LINGER_MILLIS = 1_000;

    /** Numbers the routers of this JVM, so that their threads tell them apart (1, 2, ...). */
    private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();
    private final int instanceNumber = INSTANCES.incrementAndGet();

    public RouterLoop(RouterConfig config) {
        this.config = config;
        this.callerDriven = config.callerDriven;
        this.table = new PeerTable(new LivenessRules(config.heartbeatInterval, config.liveness, config.conflictThreshold,
                config.conflictWindow, config.quarantine));
        PeerListener listener = config.listener;
        this.events = new EventDispatcher<>(listener == null ? null : e -> {
            if (e instanceof PeerEvent) {
                listener.onEvent((PeerEvent) e);
            } else {
                listener.onStall((Stall) e);
            }
        }, "zmq-liveness-events-" + instanceNumber, () -> counters.inc(Counter.LISTENER_ERRORS), () -> counters.inc(Counter.EVENTS_DROPPED),
                EventDispatcher.DEFAULT_CAPACITY, log);
        this.intervalNanos = config.heartbeatInterval.toNanos();
        this.evictionGraceNanos = Math.min(TimeUnit.MILLISECONDS.toNanos(50), intervalNanos / 4);
        this.stallThresholdNanos = intervalNanos / 2;
        this.confirmTimeoutNanos = Math.max(TimeUnit.SECONDS.toNanos(2), intervalNanos * (config.liveness + 2));
        this.connections = new Connections(loopCounters, badInput, log, config.maxConnections, config.maxConnectionsPerHost,
                config.maxUnheardConnections, confirmTimeoutNanos);
        long ttlNanos = config.messageTtl == null ? Long.MAX_VALUE : config.messageTtl.toNanos();
        this.outboxes = new Outboxes(counters, config.maxQueuedMessages, config.maxQueuedBytes, ttlNanos, this::wakeLoop);
        this.outboxes.writeDirectlyWith(writer);
        this.sessions = new Sessions(outboxes, loopCounters, events);
        this.inbox = new Inbox(config.handler, config.receiveQueueCapacity, loopCounters, badInput, this::wakeLoop);
        this.membership = new Membership(config, table, sessions, outboxes, connections, loopCounters, events, this::sendControlTo,
                log, badInput, evictionGraceNanos, this::checkStall, this::closePending);
        this.protocol = new ProtocolServer(config, table, sessions, outboxes, connections, membership, inbox, loopCounters,
                badInput, this::sendControl, this::sendControlTo, evictionGraceNanos);
        this.thread = callerDriven ? null : new Thread(this::run, "zmq-liveness-router-" + instanceNumber);
        if (thread != null) {
            thread.setDaemon(true);
        }
    }

    /** Wakes whatever waits for the loop's next turn: the loop thread's receive, or the application's poll on the handle. */
    private void wakeLoop() {
        SocketWaker w = socketWaker;
        if (w != null) {
            w.wake();
        } else if (!callerDriven && !running) {
            LockSupport.unpark(thread); // closing while the loop is not open yet, or waits with reading paused
        }
    }

    // ------------------------------------------------------------------ lifecycle (any thread)

    /**
     * What build() throws when the loop cannot open its socket: the failure itself if it is a RuntimeException (a port
     * in use...), and for a LinkageError (a JeroMQ other than 0.6.0 on the class path: a missing class or method) a
     * message that names the version found and what to do, with the error as the cause.
     */
    static RuntimeException describeStartFailure(Throwable e) {
        if (e instanceof RuntimeException) {
            return (RuntimeException) e;
        }
        if (e instanceof LinkageError) {
            String found = null;
            try {
                found = org.zeromq.ZMQ.class.getPackage().getImplementationVersion();
            } catch (Throwable ignored) {
                // the class itself may be what is missing
            }
            return new IllegalStateException("zmq-liveness needs JeroMQ 0.6.0, but the class path holds JeroMQ "
                    + (found != null ? found : "of another version (or none)") + ": " + e + ". Maven's nearest-wins may have "
                    + "picked another version; declare org.zeromq:jeromq:0.6.0 in your own dependencies", e);
        }
        return new IllegalStateException("the router could not open its socket: " + e, e);
    }

    /** Starts the loop and waits until every endpoint is bound; throws what binding threw. */
    public void start() {
        if (callerDriven) {
            startInline();
            return;
        }
        thread.start();
        try {
            if (!started.await(30, TimeUnit.SECONDS)) {
                running = false; // it may still come up: then it stops at once, and leaves nothing behind
                wakeLoop();
                throw new IllegalStateException("the router loop did not start within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the router", e);
        }
        if (startFailure != null) {
            close();
            if (startFailure instanceof RuntimeException) {
                throw (RuntimeException) startFailure;
            }
            throw new IllegalStateException(startFailure);
        }
    }

    public List<String> endpoints() {
        return boundEndpoints;
    }

    public boolean isRunning() {
        return running;
    }

    /** Waits for the loop thread to have stopped (after close(), or a fatal error); false if it has not within the timeout. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    public boolean isLoopThread() {
        return callerDriven ? driveLock.isHeldByCurrentThread() : Thread.currentThread() == thread;
    }

    /** Stops the loop, releases the socket and the context, and drains the listener; bounded by the close timeout. */
    public void close() {
        if (callerDriven) {
            closeDriven();
            return;
        }
        running = false;
        abandonCalls(); // callers waiting on the loop get their answer now, not when the loop gets round to it
        wakeLoop();
        LockSupport.unpark(thread); // in case it waits with reading paused
        long deadline = System.nanoTime() + config.closeTimeout.toNanos();
        if (thread.isAlive() && !isLoopThread()) {
            try {
                if (!stopped.await(config.closeTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    log.warn("router loop did not stop within {}; it is a daemon thread and will not keep the JVM alive",
                            config.closeTimeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long left = Math.max(0, deadline - System.nanoTime());
        events.close(Duration.ofNanos(Math.max(left, TimeUnit.MILLISECONDS.toNanos(100))));
    }

    // ------------------------------------------------------------------ API for other threads

    /** Queues a message for {@code identity}, or for {@code session} only if that is not null (see {@link Outboxes#offer}). */
    public SendResult send(Identity identity, Session session, byte[][] frames, Duration ttl) {
        if (!running) {
            return SendResult.CLOSED;
        }
        long size = Frames.checkedSize(frames);
        if (size > config.maxMessageSize) {
            counters.inc(Counter.DROPPED_TOO_LARGE);
            return SendResult.TOO_LARGE;
        }
        long ttlNanos = ttl == null ? 0 : ttl.toNanos();
        if (callerDriven && !driveLock.isHeldByCurrentThread() && driveLock.tryLock()) {
            // Nobody drives the router this moment (a caller-driven server's thread replying between two receive()
            // calls, say): this thread writes as the loop would, at once, instead of queueing and waking the loop
            // through the socket for a turn that the same thread is about to run anyway.
            try {
                if (finished) {
                    return SendResult.CLOSED;
                }
                SendResult result = outboxes.offer(identity, session, frames, size, ttlNanos, true);
                if (outboxes.busy() || outboxes.anyBlocked()) {
                    ownWaker.wake(); // left waiting (the peer's pipe is full): a driver in its poll must come for it
                }
                return result;
            } finally {
                driveLock.unlock();
            }
        }
        return outboxes.offer(identity, session, frames, size, ttlNanos, isLoopThread());
    }

    /**
     * A question for the loop thread from another thread: answered by the loop, or with the closed value as soon as
     * the router closes (never left waiting for a loop that will not run it).
     */
    private final class Call<T> {
        final Supplier<T> task;
        final T whenClosed;
        final CompletableFuture<T> result = new CompletableFuture<>();

        Call(Supplier<T> task, T whenClosed) {
            this.task = task;
            this.whenClosed = whenClosed;
        }

        void run() {
            try {
                T answer = task.get();
                peerCount = table.size(); // what the caller sees next must include what the task changed
                result.complete(answer);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }

        void abandon() {
            result.complete(whenClosed);
        }
    }

    /** Answers every call still waiting with its closed value: the loop has stopped or is stopping. */
    private void abandonCalls() {
        Call<?> c;
        while ((c = tasks.poll()) != null) {
            c.abandon();
        }
    }

    /** Runs {@code task} on the loop and waits (bounded) for its result; {@code whenClosed} once the router closes. */
    public <T> T call(Supplier<T> task, T whenClosed) {
        if (isLoopThread()) {
            return task.get();
        }
        if (!running) {
            return whenClosed;
        }
        if (callerDriven && driveLock.tryLock()) {
            // Nobody is driving the loop right now: answer here, as a turn would.
            try {
                if (!running) {
                    return whenClosed;
                }
                T answer = task.get();
                peerCount = table.size();
                return answer;
            } finally {
                driveLock.unlock();
            }
        }
        Call<T> call = new Call<>(task, whenClosed);
        tasks.add(call);
        if (!running) {
            abandonCalls(); // close() may have drained the queue just before this call joined it
        }
        wakeLoop();
        try {
            return call.result.get(Math.max(10, config.closeTimeout.toSeconds() * 2), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the router loop", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            if (!running) {
                return whenClosed;
            }
            throw new IllegalStateException(callerDriven
                    ? "the router did not answer within its bound: the thread driving this caller-driven router must call doWork() "
                    + "(or receive()) at least every timeUntilWork(); is it blocked?"
                    : "the router loop did not answer within its bound: is a MessageHandler blocking it?");
        }
    }

    public Message receive(long timeout, TimeUnit unit) throws InterruptedException {
        if (callerDriven) {
            return driveUntilMessage(unit.toNanos(timeout)) ? inbox.receive(0, TimeUnit.NANOSECONDS, false) : null;
        }
        return inbox.receive(timeout, unit, running);
    }

    /** Waits for one message, then takes what else is already there, up to {@code max} in all. */
    public int receive(List<Message> into, int max, long timeout, TimeUnit unit) throws InterruptedException {
        if (callerDriven) {
            return driveUntilMessage(unit.toNanos(timeout)) ? inbox.receive(into, max, 0, TimeUnit.NANOSECONDS, false) : 0;
        }
        return inbox.receive(into, max, timeout, unit, running);
    }

    public Map<String, Long> counters() {
        return counters.snapshot();
    }

    public int peerCount() {
        return peerCount;
    }

    public List<PeerSnapshot> snapshot() {
        return call(() -> {
            List<PeerSnapshot> list = new ArrayList<>(table.size());
            for (PeerRecord r : table.records()) {
                list.add(membership.toSnapshot(r));
            }
            return Collections.unmodifiableList(list);
        }, List.of());
    }

    public PeerSnapshot snapshot(Identity identity) {
        return call(() -> {
            PeerRecord r = table.get(identity);
            return r == null ? null : membership.toSnapshot(r);
        }, null);
    }

    public boolean evict(Identity identity) {
        return call(() -> {
            PeerRecord r = table.get(identity);
            if (r == null || r.state() == PeerState.QUARANTINED) {
                return false;
            }
            membership.evictPeer(r, EvictReason.EXPLICIT, true, System.nanoTime());
            return true;
        }, false);
    }


    // ------------------------------------------------------------------ caller-driven mode (the driving thread)

    private void requireCallerDriven(String what) {
        if (!callerDriven) {
            throw new IllegalStateException(what + " is for a router built with callerDriven(); this one runs its own loop "
                    + "thread (zmq-liveness-router-" + instanceNumber + ")");
        }
    }

    /** Opens the socket on the building thread: a caller-driven router has no thread of its own. */
    private void startInline() {
        driveLock.lock();
        try {
            open();
            lastTickAt = System.nanoTime();
            lastReturnAt = lastTickAt;
        } catch (Throwable e) {
            running = false;
            finished = true;
            RuntimeException failure = describeStartFailure(e);
            try {
                releaseQuietly();
            } catch (Throwable t) {
                failure.addSuppressed(t);
            }
            stopped.countDown();
            events.close(Duration.ofMillis(100));
            throw failure;
        } finally {
            started.countDown();
            driveLock.unlock();
        }
    }

    /** One turn: what the loop thread does each time it wakes. Returns how much it did (messages read, calls answered, connection events). */
    public int doWork() {
        requireCallerDriven("doWork()");
        driveLock.lock();
        try {
            return doWorkLocked(null);
        } finally {
            driveLock.unlock();
        }
    }

    /** One caller-driven turn; {@code arrived} is a message already taken from the socket by a wait, or null. */
    private int doWorkLocked(Msg arrived) {
        if (finished) {
            return 0;
        }
        if (!running) {
            finish();
            return 0;
        }
        long now = System.nanoTime();
        if (!inbox.paused()) {
            // Between two turns the caller was allowed to wait what timeUntilWork() said; beyond that the router did
            // not run (a stall: see noticeStall). A caller that never asks is allowed nothing.
            askedPollNanos += Math.min(now - lastReturnAt, allowedWaitNanos);
        }
        allowedWaitNanos = 0;
        ownWaker.sleeping(false);
        turnWork = 0;
        try {
            more = safeTurn(arrived);
        } catch (Error e) {
            log.error("router turn failed; the router is closed and every peer is disconnected", e);
            running = false;
            finish();
            throw e;
        }
        if (!running) {
            finish(); // closed during the turn (by a handler)
            return turnWork;
        }
        ownWaker.sleeping(true);
        if (more || !tasks.isEmpty() || !transportEvents.isEmpty() || outboxes.busy()) {
            // Work arrived during the turn (a sender saw it awake and did not wake it), or is left: the handle must
            // be readable, whether or not the caller asks timeUntilWork() before it polls.
            ownWaker.wake();
        }
        lastReturnAt = System.nanoTime();
        return turnWork;
    }

    /**
     * How long the driving thread may wait before its next doWork(): 0 if there is work now, else until the next
     * deadline (at most 500 ms). Arms the handle: from now on, whatever needs a turn makes it readable.
     */
    public long timeUntilWorkNanos() {
        requireCallerDriven("timeUntilWork()");
        driveLock.lock();
        try {
            return timeUntilWorkLocked();
        } finally {
            driveLock.unlock();
        }
    }

    private long timeUntilWorkLocked() {
        if (!running || finished) {
            return 0;
        }
        ownWaker.sleeping(true);
        if (more) {
            return 0;
        }
        long millis = pollTimeoutMillis();
        if (millis == 0) {
            return 0;
        }
        // As ZeroMQ's own poll does: take the socket's pending commands (which clears its handle) and ask whether a
        // message waits. While the receive queue is full nothing is read, so a waiting message is no work.
        boolean readable = (base.getSocketOpt(zmq.ZMQ.ZMQ_EVENTS) & zmq.ZMQ.ZMQ_POLLIN) != 0;
        if (readable && !inbox.paused()) {
            return 0;
        }
        long nanos = TimeUnit.MILLISECONDS.toNanos(millis);
        allowedWaitNanos = Math.max(allowedWaitNanos, System.nanoTime() - lastReturnAt + nanos);
        return nanos;
    }

    /** The channel to register in the application's poller (see LivenessRouter#pollHandle). */
    public java.nio.channels.SelectableChannel pollHandle() {
        requireCallerDriven("pollHandle()");
        driveLock.lock();
        try {
            if (finished) {
                throw new IllegalStateException("the router is closed");
            }
            return base.getFD();
        } finally {
            driveLock.unlock();
        }
    }

    /**
     * receive() of a caller-driven router: turns the loop on this thread until a message is in the queue, waiting on
     * the handle between turns. True if there is one (or the router closed: what is left is then handed out).
     */
    private boolean driveUntilMessage(long timeoutNanos) throws InterruptedException {
        inbox.checkReceivable();
        long deadline = System.nanoTime() + Math.max(0, timeoutNanos);
        driveLock.lockInterruptibly();
        try {
            Msg arrived = null;
            while (true) {
                if (inbox.hasMessage() || finished) {
                    return true;
                }
                doWorkLocked(arrived);
                if (inbox.hasMessage() || finished) {
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                long wait = Math.min(left, timeUntilWorkLocked());
                arrived = wait > 0 ? waitForMessage(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait))) : null;
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        } finally {
            driveLock.unlock();
        }
    }

    /** close() of a caller-driven router: from the driving thread, or from any other once the driver is out of its turn. */
    private void closeDriven() {
        running = false;
        abandonCalls();
        wakeLoop(); // a driver waiting in receive() or on the handle returns now
        if (driveLock.isHeldByCurrentThread()) {
            return; // inside a turn (a handler closed the router): the turn finishes the close on its way out
        }
        boolean locked = false;
        try {
            locked = driveLock.tryLock(config.closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!locked) {
            log.warn("the thread driving the router did not leave doWork()/receive() within {}; the router closes when it does",
                    config.closeTimeout);
            return;
        }
        try {
            finish();
        } finally {
            driveLock.unlock();
        }
    }

    /** Caller-driven, under driveLock: says goodbye, releases the socket and the context, drains the listener. Once. */
    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        running = false;
        abandonCalls();
        try {
            shutdown();
        } finally {
            stopped.countDown();
            events.close(Duration.ofMillis(Math.max(100, config.closeTimeout.toMillis() / 2)));
        }
    }

    // ------------------------------------------------------------------ the loop

    private void run() {
        try {
            open();
        } catch (Throwable e) {
            startFailure = describeStartFailure(e);
            running = false;
            try {
                releaseQuietly();
            } catch (Throwable t) {
                startFailure.addSuppressed(t);
            } finally {
                started.countDown(); // build() must never wait out its 30 s for a loop that failed
                stopped.countDown();
            }
            return;
        }
        started.countDown();
        lastTickAt = System.nanoTime();
        more = false;
        try {
            while (running) {
                Msg arrived = null;
                if (!more) {
                    ownWaker.sleeping(true); // before looking at the queues: see SocketWaker
                    long timeout = pollTimeoutMillis();
                    if (timeout != 0) {
                        arrived = waitForMessage(timeout);
                    }
                    ownWaker.sleeping(false);
                }
                more = safeTurn(arrived);
            }
        } catch (RuntimeException | Error e) {
            log.error("router loop failed; the router is closed and every peer is disconnected", e);
        } finally {
            running = false;
            abandonCalls();
            shutdown();
            stopped.countDown();
        }
    }

    /**
     * Waits at most {@code timeoutMillis} for the socket to have a message, the way a raw ROUTER loop waits: in a
     * blocking receive, which wakes at the first message (a peer's, or another thread's wake-up through the
     * SocketWaker). Returns that message's first frame, or null. While reading is paused for a full receive queue
     * the loop must not read: it sleeps in 1 ms steps instead, and none of that counts as listening.
     */
    private Msg waitForMessage(long timeoutMillis) {
        if (inbox.paused()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Math.min(timeoutMillis, 1)));
            return null;
        }
        if (timeoutMillis != rcvTimeoutMillis) {
            base.setSocketOpt(zmq.ZMQ.ZMQ_RCVTIMEO, (int) timeoutMillis);
            rcvTimeoutMillis = timeoutMillis;
        }
        long start = System.nanoTime();
        Msg first = base.recv(0);
        // The wait it asked for, or less if woken early: beyond that, the loop was not running.
        askedPollNanos += Math.min(System.nanoTime() - start, TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
        return first;
    }

    /** A turn that survives a bug of ours: counted, said (rate limited), and the loop goes on; an Error is not caught. */
    private boolean safeTurn(Msg arrived) {
        try {
            return turn(arrived);
        } catch (RuntimeException e) {
            loopCounters.inc(Counter.LOOP_ERRORS);
            badInput.warn("loop", System.nanoTime(), "router loop turn failed; carrying on (please report this)", e);
            return false;
        }
    }

    /** One turn of the loop; true if it should turn again before waiting. {@code arrived}: a first frame already read, or null. */
    private boolean turn(Msg arrived) {
        if (!inbox.paused()) {
            noticeStall(System.nanoTime()); // a stall before this turn (in the poll): held before anything is read or evicted
        }
        takeTransportEvents();
        if (authenticator != null) {
            authenticatorTurn(System.nanoTime());
        }
        Call<?> call;
        while ((call = tasks.poll()) != null) {
            call.run();
            turnWork++;
        }
        boolean drained = receiveBatch(arrived);
        long now = System.nanoTime();
        if (!inbox.paused()) {
            // A handler that did not return is a stall: noticed before the connections lost meanwhile are applied,
            // so they are taken for the stall's doing (detached, not evicted).
            noticeStall(now);
        }
        if (drained && !pendingDisconnects.isEmpty()) {
            // Every message a dead connection had pushed before its DISCONNECTED is read: now it is safe to forget it.
            for (TransportEvent e : pendingDisconnects) {
                membership.onDisconnected(e.channel);
            }
            pendingDisconnects.clear();
        }
        outboxes.flush(now, writer);
        if (!inbox.paused()) {
            membership.tick(now);
        }
        connections.tick(now);
        sessions.expire(now);
        int peers = table.size();
        if (peers != peerCount) {
            peerCount = peers; // a volatile write costs a fence: only when it changed
        }
        // Poll again unless the socket still holds messages. Turning again after every busy turn
        // instead saves polls when the loop has a core to itself, but on 2 shared cores the spinning
        // loop starves the application and I/O threads (receive() throughput fell by 4x).
        return !drained && !inbox.paused();
    }

    /**
     * Called at the start of each turn and before deadlines are applied: between two calls the loop waited in its
     * poll, at most as long as it asked, and worked. Whatever is beyond that (a GC pause, the process stopped or starved, a handler that did not
     * return, reading paused for a full receive queue) is time the router could not hear its peers: the table holds
     * suspicion and eviction for one interval, and a stall of an interval or more is reported.
     */
    private void noticeStall(long now) {
        long stall = now - lastTickAt - askedPollNanos;
        lastTickAt = now;
        askedPollNanos = 0;
        if (stall < stallThresholdNanos) {
            return;
        }
        int covered = table.stalled(stall, now);
        long millis = TimeUnit.NANOSECONDS.toMillis(stall);
        loopCounters.inc(Counter.STALLS);
        loopCounters.add(Counter.STALLED_MILLIS, millis);
        if (stall >= intervalNanos) {
            badInput.warn("stall", now, "the router did not run for {} ms (a GC pause, the process stopped or starved of CPU, "
                    + "a MessageHandler that did not return, or receive() or doWork() not called); no peer is suspected or evicted for "
                    + "silence before one interval from now ({} peers' deadlines fell in the stall)", millis, covered);
            events.publish(new Stall(Duration.ofNanos(stall), covered, Instant.now()));
        }
    }

    /** True if a DISCONNECTED for {@code channel} has come from JeroMQ and is not applied yet (rare question: a scan). */
    private boolean closePending(SocketChannel channel) {
        for (TransportEvent e : pendingDisconnects) {
            if (e.channel == channel) {
                return true;
            }
        }
        for (TransportEvent e : transportEvents) {
            if (!e.accepted && e.channel == channel) {
                return true;
            }
        }
        return false;
    }

    /**
     * In the middle of a turn, before a join, a takeover or a lost connection is applied: a handler that has just
     * returned after blocking the loop is a stall, and what it caused must be taken as such.
     */
    private void checkStall() {
        if (!inbox.paused()) {
            noticeStall(System.nanoTime());
        }
    }

    private long pollTimeoutMillis() {
        if (!running || !tasks.isEmpty() || outboxes.busy() || !transportEvents.isEmpty()) {
            return 0;
        }
        long next = table.nextDeadline();
        next = Math.min(next, connections.nextDeadline());
        // the clock is read only when there is a deadline to measure
        long millis = next == Long.MAX_VALUE ? MAX_POLL_MILLIS : TimeUnit.NANOSECONDS.toMillis(next - System.nanoTime()) + 1;
        if (outboxes.anyBlocked() || inbox.paused() || !pendingDisconnects.isEmpty()) {
            millis = Math.min(millis, 10);
        }
        return Math.max(1, Math.min(millis, MAX_POLL_MILLIS));
    }

    private void open() throws IOException {
        context = new ZContext(config.ioThreads);
        socket = context.createSocket(SocketType.ROUTER);
        base = socket.base();
        socket.setRouterMandatory(true);
        // With CURVE each connection has a routing id of the router's choosing (see Authenticator): no two connections
        // ever share one, and handover stays off so that no claim can ever move a pipe.
        socket.setRouterHandover(!config.bindsIdentities());
        socket.setLinger(0);
        socket.setSndHWM(config.sendHighWaterMark);
        socket.setMaxMsgSize(config.maxMessageSize);
        socket.setHandshakeIvl((int) config.handshakeInterval.toMillis());
        socket.setBacklog(config.acceptBacklog);
        if (config.transportHeartbeat) {
            socket.setHeartbeatIvl((int) config.transportHeartbeatInterval.toMillis());
            socket.setHeartbeatTimeout((int) config.transportHeartbeatTimeout.toMillis());
            // libzmq peers drop the connection themselves if the router goes silent this long.
            long ttl = Math.min(6_553_000L, config.heartbeatInterval.toMillis() * (config.liveness + 1L));
            socket.setHeartbeatTtl((int) ttl);
        }
        if (config.tcpKeepAlive) {
            socket.setTCPKeepAlive(1);
            socket.setTCPKeepAliveIdle(Math.max(1, config.tcpKeepAliveIdle.toSeconds()));
            socket.setTCPKeepAliveInterval(Math.max(1, config.tcpKeepAliveIdle.toSeconds() / 6));
            socket.setTCPKeepAliveCount(3);
        }
        if (config.bindsIdentities()) {
            authenticator = new Authenticator(context, config.authorizer, counters, log, badInput, this::wakeLoop);
            try {
                authenticator.start("zmq-liveness-zap-" + instanceNumber);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting the CURVE authenticator", e);
            }
            socket.setCurveServer(true);
            socket.setCurveSecretKey(config.curveSecretKey);
            socket.setZAPDomain(LEGACY_REFUSING_ZAP_DOMAIN);
        } else if (!config.acceptLegacyZmtp) {
            // JeroMQ refuses ZMTP 1.0 and 2.0 greetings (and garbage it would parse as 1.0) when ZAP is enabled, which
            // a ZAP domain does for the NULL mechanism. No ZAP handler exists in this private context, so ZMTP 3
            // peers go on without any ZAP request: nothing else changes.
            socket.setZAPDomain(LEGACY_REFUSING_ZAP_DOMAIN);
        }
        base.setSocketOpt(zmq.ZMQ.ZMQ_DISCONNECT_MSG, disconnectMarker);
        base.setSocketOpt(zmq.ZMQ.ZMQ_SELFADDR_PROPERTY_NAME, SELF_ADDRESS);
        base.setEventHook(this::onTransportEvent, ZMQ.EVENT_ACCEPTED | ZMQ.EVENT_DISCONNECTED);
        List<String> bound = new ArrayList<>();
        for (String endpoint : config.endpoints) {
            try {
                socket.bind(endpoint);
            } catch (org.zeromq.ZMQException e) {
                throw new IllegalArgumentException("cannot bind " + endpoint + ": " + e.getMessage()
                        + " (is the port in use, or the address not local?)", e);
            }
            bound.add(socket.getLastEndpoint());
        }
        // The wake-ups of other threads come in through the ROUTER itself: the loop waits in a blocking receive, as a
        // raw ROUTER loop does, and a caller-driven router's one handle is all the application polls (see SocketWaker).
        String wakeEndpoint = "inproc://zmq-liveness-wake-" + instanceNumber + "-" + Long.toHexString(System.nanoTime());
        socket.bind(wakeEndpoint);
        ownWaker = new SocketWaker(context, wakeEndpoint);
        socketWaker = ownWaker;
        boundEndpoints = List.copyOf(bound);
        log.info("router bound to {}; heartbeat {} x {}, transport heartbeat {}", bound, config.heartbeatInterval,
                config.liveness, config.transportHeartbeat
                        ? config.transportHeartbeatInterval + " timeout " + config.transportHeartbeatTimeout : "off");
    }

    private void shutdown() {
        long now = System.nanoTime();
        if (socket != null) {
            // Each protocol peer gets its own return time, one slot apart at the join rate, so the herd
            // comes back spread out instead of all one interval later (one accept queue's worth at a time).
            double rate = config.maxJoinsPerSecond > 0 ? config.maxJoinsPerSecond : UNPACED_RETURN_RATE;
            long baseMillis = config.heartbeatInterval.toMillis();
            int slot = 0;
            for (PeerRecord r : new ArrayList<>(table.records())) {
                if (r.heartbeating() && r.state() != PeerState.QUARANTINED) {
                    long retry = baseMillis + (long) (slot++ * 1000 / rate);
                    sendControl(r.identity(), Command.disconnect(Command.Reason.SHUTTING_DOWN,
                            retry, "router closing").encode());
                }
                table.remove(r);
            }
            // Give the goodbyes time to reach the wire before the context goes: closing returns as soon as they
            // are written, and a peer that does not read holds it at most this long. 100 ms was too short for
            // 2,000 peers on a busy I/O thread: 1,240 of them lost the connection without their retry-after
            // and came back all at once (StormBenchmark).
            context.setLinger((int) Math.min(CLOSE_LINGER_MILLIS, config.closeTimeout.toMillis() / 2));
        }
        sessions.closeAll();
        inbox.close();
        peerCount = 0;
        releaseQuietly();
        log.info("router closed after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - now));
    }

    private void releaseQuietly() {
        SocketWaker w = socketWaker;
        socketWaker = null;
        if (w != null) {
            w.close(); // its socket first: ZContext.close() would close it too, under the feet of a waking thread
        }
        try {
            if (base != null) {
                base.setEventHook(null, 0);
            }
        } catch (RuntimeException e) {
            log.debug("unhooking events failed", e);
        }
        try {
            if (authenticator != null) {
                authenticator.stop();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (context != null) {
                context.close();
            }
        } catch (RuntimeException e) {
            log.warn("closing the ZeroMQ context failed", e);
        }

    }

    // ------------------------------------------------------------------ transport events

    /** Runs on JeroMQ's I/O thread: record and hand over, nothing else. */
    private void onTransportEvent(zmq.ZMQ.Event event) {
        if (!(event.arg instanceof SocketChannel)) {
            return;
        }
        SocketChannel ch = (SocketChannel) event.arg;
        if (event.event == ZMQ.EVENT_ACCEPTED) {
            transportEvents.add(new TransportEvent(true, ch, Connections.key(addressOf(ch), localAddressOf(ch))));
        } else {
            transportEvents.add(new TransportEvent(false, ch, null));
        }
        wakeLoop();
    }

    /** A channel's remote address, formatted exactly as JeroMQ formats the Peer-Address metadata, or null. */
    static String addressOf(SocketChannel ch) {
        try {
            return format(ch.getRemoteAddress());
        } catch (IOException e) {
            return null; // closed before we looked
        }
    }

    /** A channel's local address, formatted as JeroMQ formats the self-address metadata, or null. */
    static String localAddressOf(SocketChannel ch) {
        try {
            return format(ch.getLocalAddress());
        } catch (IOException e) {
            return null; // closed before we looked
        }
    }

    private static String format(SocketAddress sa) {
        if (sa instanceof InetSocketAddress) {
            InetSocketAddress isa = (InetSocketAddress) sa;
            return isa.getAddress().getHostAddress() + ":" + isa.getPort();
        }
        return null;
    }

    /** Applies ACCEPTED events now; keeps DISCONNECTED events to apply once the socket is drained. */
    private void takeTransportEvents() {
        TransportEvent e;
        while ((e = transportEvents.poll()) != null) {
            turnWork++;
            if (e.accepted) {
                long now = System.nanoTime(); // read here: most turns have no event
                if (connections.accepted(e.channel, e.key, now)) {
                    publishRefused(RefusalReason.LIMIT, null, Connections.peerOf(e.key), now);
                }
            } else {
                pendingDisconnects.add(e);
            }
        }
    }

    // ------------------------------------------------------------------ receive

    /** Reads up to a batch; true if the socket has nothing more to read right now. */
    private boolean receiveBatch(Msg arrived) {
        boolean wasPaused = inbox.paused();
        int batch = inbox.room(RECEIVE_BATCH);
        if (batch == 0) {
            return false; // paused: the application's queue is full
        }
        if (wasPaused) {
            noticeStall(System.nanoTime()); // reading resumes: the pause is a stall, held before what waited is read
        }
        for (int i = 0; i < batch; i++) {
            Msg first = arrived != null ? arrived : base.recv(ZMQ.DONTWAIT);
            arrived = null;
            if (first == null) {
                int errno = base.errno();
                if (errno != ZError.EAGAIN && errno != ZError.ETERM && running) {
                    log.warn("receive on the ROUTER socket failed with errno {}", errno);
                }
                return true;
            }
            turnWork++;
            if (ownWaker != null && ownWaker.isMine(first.data())) {
                for (Msg part = first; part != null && part.hasMore(); ) {
                    part = base.recv(0);
                }
                ownWaker.received(); // a wake-up from another thread: it has done its work by making this turn run
                continue;
            }
            frameBuffer.clear();
            Msg last = first;
            ConnMeta meta = null;
            while (last.hasMore()) {
                last = base.recv(0);
                if (last == null) {
                    break;
                }
                if (meta == null) {
                    meta = metaOf(last.getMetadata());
                }
                frameBuffer.add(last.data());
            }
            String key = meta == null ? null : meta.key;
            if (frameBuffer.isEmpty()) {
                continue; // a ROUTER always has a body; nothing to deliver
            }
            if (frameBuffer.size() == 1 && Arrays.equals(frameBuffer.get(0), disconnectMarker)) {
                if (authenticator == null) {
                    membership.onPipeGone(Identity.fromWire(first.data()));
                } else {
                    onBoundPipeGone(first.data());
                }
                continue;
            }
            loopCounters.inc(Counter.MESSAGES_RECEIVED);
            // Immutable, so Message keeps it as it is; List.of(one) is a single small object.
            List<byte[]> frames = frameBuffer.size() == 1 ? List.of(frameBuffer.get(0)) : List.copyOf(frameBuffer);
            if (authenticator == null) {
                protocol.onMessage(first.data(), key, frames);
            } else {
                onBoundMessage(first.data(), meta, key, frames);
            }
        }
        return false;
    }

    /**
     * CURVE: a message is served under the identity its connection's key was granted, never under the routing id it
     * came with, which must be the one the handshake gave (else the claim of the client beat the grant in JeroMQ: the
     * connection is shut, and nothing was ever routed to it, since the router sends only to routing ids it gave).
     */
    private void onBoundMessage(byte[] routingId, ConnMeta meta, String key, List<byte[]> frames) {
        Authenticator.Grant grant = grantOf(meta);
        Conn conn = connections.at(key);
        long now = System.nanoTime();
        if (grant == null || !Arrays.equals(routingId, grant.routingId)) {
            loopCounters.inc(Counter.REFUSED_NOT_AUTHORIZED);
            badInput.warn("unbound-routing-id", now, "refused a message from {}: its connection's routing id ({}) is not the "
                    + "one the CURVE handshake gave it ({}); the connection is shut", Connections.peerOf(key), Authenticator.hex(routingId),
                    grant == null ? "none" : Authenticator.hex(grant.routingId));
            if (conn != null && !conn.shutting) {
                connections.shutdown(conn, now);
                publishRefused(RefusalReason.IDENTITY_NOT_AUTHORIZED, null, conn.address(), now);
            }
            return;
        }
        if (grant.served == null && !serveAs(grant, conn, key, frames.get(0), now)) {
            return;
        }
        grant.used = true;
        if (conn != null && conn.grant == null) {
            conn.grant = grant;
        }
        protocol.onMessage(grant.served.unsafeBytes(), key, frames);
    }

    /**
     * CURVE: fixes the identity a connection is served under, at its first message: the one its HELLO names if it names
     * one its key may use, else its key's first. A HELLO that names an identity the key may not use is refused: the
     * client is told why (CONFLICT, retry after 5 minutes) and its connection shut.
     */
    private boolean serveAs(Authenticator.Grant grant, Conn conn, String key, byte[] head, long now) {
        Identity asked = null;
        if (Command.isHello(head)) {
            try {
                byte[] named = Command.decode(head).identity();
                asked = named == null ? null : Identity.fromWire(named);
            } catch (io.github.zmqliveness.protocol.MalformedCommandException e) {
                asked = null; // the protocol server counts and answers it
            }
        }
        if (asked == null || grant.identities.contains(asked)) {
            grant.served = asked != null ? asked : grant.identities.get(0);
            return true;
        }
        loopCounters.inc(Counter.REFUSED_NOT_AUTHORIZED);
        log.warn("refused a client from {} that asked for identity {}: its key {} may use only {}", Connections.peerOf(key), asked,
                grant.key(), grant.identities);
        writeCommand(grant.routingId, Command.disconnect(Command.Reason.CONFLICT, Command.MAX_RETRY_AFTER_MILLIS,
                "key " + grant.key() + " is not authorized for identity " + asked).encode());
        if (conn != null && !conn.shutting) {
            connections.shutdownAt(conn, now + evictionGraceNanos);
        }
        publishRefused(RefusalReason.IDENTITY_NOT_AUTHORIZED, asked, Connections.peerOf(key), now);
        return false;
    }

    /** CURVE: a pipe ended; it concerns the table only if it was the pipe of the connection that holds its identity. */
    private void onBoundPipeGone(byte[] routingId) {
        Authenticator.Grant grant = authenticator.grant(Authenticator.hex(routingId));
        if (grant == null) {
            return; // never served (its first message never came), or not one of ours
        }
        authenticator.forget(grant);
        if (grant.served == null) {
            return; // never served
        }
        Conn holder = holderOf(grant.served);
        if (holder != null && holder.grant == grant) {
            membership.onPipeGone(grant.served);
        }
    }

    /** CURVE: the grant a message's connection was given in its handshake, or null. */
    private Authenticator.Grant grantOf(ConnMeta meta) {
        if (meta == null) {
            return null;
        }
        if (meta.grant == null) {
            meta.grant = authenticator.grant(meta.grantName);
        }
        return meta.grant;
    }

    /** CURVE: the connection the table says holds {@code identity}, or null. */
    private Conn holderOf(Identity identity) {
        PeerRecord r = table.get(identity);
        return r == null || r.address() == null ? null : connections.at(r.address());
    }

    /**
     * The routing id to write to for {@code identity}: the identity itself, or with CURVE the routing id of the
     * connection that holds it. Null if none. (A newcomer refused or paced is told so on its own connection:
     * {@link #sendControlTo}.)
     */
    private byte[] routeOf(Identity identity) {
        if (authenticator == null) {
            return identity.unsafeBytes();
        }
        Conn holder = holderOf(identity);
        return holder == null || holder.grant == null ? null : holder.grant.routingId;
    }

    /** A REFUSED event, at most 100 a second (the rest counted). */
    private void publishRefused(RefusalReason why, Identity identity, String address, long now) {
        if (now - refusedEventsWindowStart > TimeUnit.SECONDS.toNanos(1)) {
            refusedEventsWindowStart = now;
            refusedEventsInWindow = 0;
        }
        if (++refusedEventsInWindow > 100) {
            loopCounters.inc(Counter.REFUSED_EVENTS_SUPPRESSED);
            return;
        }
        events.publish(PeerEvent.refused(why, identity, address, Instant.now()));
    }

    /**
     * CURVE: publishes the handshakes the authenticator refused; forgets grants never used; and when the authorizer's
     * keys changed, turns away connections whose key is no longer authorized for the identity they are served under.
     */
    private void authenticatorTurn(long now) {
        Authenticator.Refusal refusal;
        while ((refusal = authenticator.nextRefusal()) != null) {
            publishRefused(refusal.reason, null, refusal.host, now);
        }
        if (now - nextAuthorizationCheck < 0) {
            return;
        }
        nextAuthorizationCheck = now + TimeUnit.SECONDS.toNanos(1);
        authenticator.expireUnused(now, 2 * config.handshakeInterval.toNanos() + TimeUnit.SECONDS.toNanos(10));
        if (!(config.authorizer instanceof AuthorizedKeys)) {
            return;
        }
        long generation = ((AuthorizedKeys) config.authorizer).generation(); // notices a changed file
        if (generation == authorizerGeneration) {
            return;
        }
        boolean first = authorizerGeneration == -1;
        authorizerGeneration = generation;
        if (!first) {
            revokeUnauthorized(now);
        }
    }

    private void revokeUnauthorized(long now) {
        for (Conn conn : connections.all()) {
            Authenticator.Grant g = conn.grant;
            if (g == null || conn.shutting) {
                continue;
            }
            List<Identity> allowed;
            try {
                allowed = config.authorizer.identities(g.publicKey.clone());
            } catch (RuntimeException e) {
                allowed = List.of();
            }
            if (g.served == null || allowed.contains(g.served)) {
                continue;
            }
            log.info("key {} is no longer authorized for {}: its connection from {} is shut", g.key(), g.served, conn.address());
            PeerRecord r = table.get(g.served);
            if (r != null && holderOf(g.served) == conn) {
                membership.evictPeer(r, EvictReason.EXPLICIT, true, now);
            } else {
                connections.shutdown(conn, now);
            }
            publishRefused(RefusalReason.IDENTITY_NOT_AUTHORIZED, g.served, conn.address(), now);
        }
    }

    /**
     * What a message's metadata says of its connection: its key and, with CURVE, its grant. JeroMQ gives every message
     * of one connection the same metadata object, so this is made once per connection, not once per message; the cache
     * forgets closed connections by starting afresh whenever it outgrows the open ones.
     */
    private ConnMeta metaOf(Metadata md) {
        if (md == null) {
            return null;
        }
        ConnMeta meta = metaByMetadata.get(md);
        if (meta == null) {
            if (metaByMetadata.size() > 2 * connections.size() + 64) {
                metaByMetadata.clear();
            }
            meta = new ConnMeta(Connections.key(md.get(Metadata.PEER_ADDRESS), md.get(SELF_ADDRESS)),
                    authenticator == null ? null : md.get(Authenticator.CONNECTION_PROPERTY));
            metaByMetadata.put(md, meta);
        }
        return meta;
    }

    private static byte[] newMarker() {
        byte[] marker = new byte[32];
        new java.security.SecureRandom().nextBytes(marker);
        marker[0] = (byte) 0xFE; // never a protocol command, never empty
        return marker;
    }

    // ------------------------------------------------------------------ eviction and connections

    // ------------------------------------------------------------------ send

    /**
     * Writes one message; false if the peer's pipe is full (EAGAIN) and it must wait. To a protocol client every message
     * goes after a DATA frame naming its session, so a client can tell what is not for its own life.
     */
    private boolean write(Outbox ob, byte[][] frames, long bytes) {
        byte[] tag = ob.dataTag;
        byte[] route = routeOf(ob.identity);
        if (route == null || !base.send(new Msg(route), ZMQ.SNDMORE | ZMQ.DONTWAIT)) {
            if (route != null && base.errno() == ZError.EAGAIN) {
                return false;
            }
            // EHOSTUNREACH (or, with CURVE, no connection holds the identity): the connection died and DISCONNECTED is not processed yet
            ob.release(bytes);
            loopCounters.inc(Counter.DROPPED_PEER_GONE);
            return true;
        }
        if (tag != null) {
            base.send(new Msg(tag), ZMQ.SNDMORE);
        }
        for (int i = 0; i < frames.length; i++) {
            base.send(new Msg(frames[i]), i < frames.length - 1 ? ZMQ.SNDMORE : 0);
        }
        ob.release(bytes);
        loopCounters.inc(Counter.MESSAGES_SENT);
        return true;
    }

    /**
     * Writes a protocol command at once, bypassing the outbox; a full pipe drops it. Only for commands that are repeated
     * (HEARTBEAT) or precede a shutdown; WELCOME goes through {@link Outboxes#control}, which never loses it.
     */
    private void sendControl(Identity identity, byte[] frame) {
        writeCommand(routeOf(identity), frame);
    }

    /** As {@link #sendControl}, to one connection of the identity (which may no longer hold it in the table). */
    private void sendControlTo(Identity identity, Conn conn, byte[] frame) {
        if (authenticator == null) {
            writeCommand(identity.unsafeBytes(), frame);
        } else if (conn != null && conn.grant != null) {
            writeCommand(conn.grant.routingId, frame);
        }
    }

    /** A queued command (see {@link Outboxes#control}); false if the pipe is full. */
    private boolean writeControl(Outbox ob, byte[] frame) {
        return writeCommand(routeOf(ob.identity), frame);
    }

    /** Writes {@code [identity, frame]}; false only if the pipe is full (EAGAIN). Unroutable: the command is gone. */
    private boolean writeCommand(byte[] route, byte[] frame) {
        if (route == null) {
            return true; // nobody to write to: the command is gone, as for EHOSTUNREACH
        }
        if (!base.send(new Msg(route), ZMQ.SNDMORE | ZMQ.DONTWAIT)) {
            return base.errno() != ZError.EAGAIN;
        }
        base.send(new Msg(frame), 0);
        return true;
    }

    // ------------------------------------------------------------------ helpers

    /** Open connections the loop knows of (for tests and diagnostics). */
    public int connectionCount() {
        return call(connections::size, 0);
    }
}
