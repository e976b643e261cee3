package io.github.zmqliveness.transport;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerSnapshot;
import io.github.zmqliveness.PeerState;
import io.github.zmqliveness.SendResult;
import io.github.zmqliveness.Session;
import io.github.zmqliveness.liveness.LivenessRules;
import io.github.zmqliveness.liveness.PeerRecord;
import io.github.zmqliveness.liveness.PeerTable;
import io.github.zmqliveness.liveness.TokenBucket;
import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.protocol.MalformedCommandException;
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
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The router's engine: one thread that alone touches the ROUTER socket. Each turn it polls the
 * socket and a wake-up pipe, takes the connection events JeroMQ's I/O thread reported, reads
 * messages, runs tasks other threads handed it, writes queued sends, and applies due deadlines.
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

    /** A connection event from JeroMQ's I/O thread. */
    private static final class TransportEvent {
        final boolean accepted;
        final SocketChannel channel;
        final String address;
        final String key;

        TransportEvent(boolean accepted, SocketChannel channel, String address, String key) {
            this.accepted = accepted;
            this.channel = channel;
            this.address = address;
            this.key = key;
        }
    }

    private final RouterConfig config;
    private final PeerTable table;
    private final Counters counters = new Counters();
    /** How the loop thread counts: no atomic read-modify-write. Other threads use {@link #counters}. */
    private final Counters.Owner loopCounters = counters.owner();
    private final RateLimitedLog badInput = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
    private final EventDispatcher<PeerEvent> events;
    private final Waker waker = new Waker();
    private final long intervalNanos;
    private final long evictionGraceNanos;
    private final long confirmTimeoutNanos;
    private final long startNanos = System.nanoTime();
    private final Instant startWall = Instant.now();

    // shared with other threads
    private final ConcurrentLinkedQueue<TransportEvent> transportEvents = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Call<?>> tasks = new ConcurrentLinkedQueue<>();
    private final Outboxes outboxes;
    private final Sessions sessions;
    private final Inbox inbox;
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
    private Selector selector;
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
    private final Map<Metadata, String> keyByMetadata = new java.util.IdentityHashMap<>();
    /**
     * What ZeroMQ hands us as {@code [identity, marker]} when an identified connection dies
     * (ZMQ_DISCONNECT_MSG): random per router, so no peer can forge it. It tells which identity's
     * pipe is gone even when the connection's address is unknown (legacy ZMTP peers carry none).
     */
    private final byte[] disconnectMarker = newMarker();
    private long nextAdmissionSlot;
    /**
     * Without join pacing, the rate at which a closing router spreads its protocol peers' return:
     * about what one router with one I/O thread admits per second on a small machine (BENCHMARKS.md).
     */
    static final double UNPACED_RETURN_RATE = 500;
    /** Longest wait, on close, for the DISCONNECTs to be written (bounded by half the close timeout too). */
    private static final long CLOSE_LINGER_MILLIS = 1_000;
    private final TokenBucket admissions;
    private final Random jitter = new Random();

    public RouterLoop(RouterConfig config) {
        this.config = config;
        this.table = new PeerTable(new LivenessRules(config.heartbeatInterval, config.liveness, config.conflictThreshold,
                config.conflictWindow, config.quarantine));
        this.events = new EventDispatcher<>(config.listener == null ? null : config.listener::onEvent, "zmq-liveness-events",
                () -> counters.inc(Counter.LISTENER_ERRORS), log);
        this.intervalNanos = config.heartbeatInterval.toNanos();
        this.evictionGraceNanos = Math.min(TimeUnit.MILLISECONDS.toNanos(50), intervalNanos / 4);
        this.confirmTimeoutNanos = Math.max(TimeUnit.SECONDS.toNanos(2), intervalNanos * (config.liveness + 2));
        this.connections = new Connections(loopCounters, badInput, log, config.maxConnections, confirmTimeoutNanos);
        long ttlNanos = config.messageTtl == null ? Long.MAX_VALUE : config.messageTtl.toNanos();
        this.outboxes = new Outboxes(counters, config.maxQueuedMessages, config.maxQueuedBytes, ttlNanos, waker::wake);
        this.outboxes.writeDirectlyWith(writer);
        this.sessions = new Sessions(outboxes, loopCounters, events);
        this.admissions = config.maxJoinsPerSecond > 0
                ? new TokenBucket(config.maxJoinsPerSecond, Math.max(1, config.maxJoinsPerSecond)) : null;
        this.inbox = new Inbox(config.handler, config.receiveQueueCapacity, loopCounters, badInput, waker::wake);
        this.thread = new Thread(this::run, "zmq-liveness-router");
        this.thread.setDaemon(true);
    }

    // ------------------------------------------------------------------ lifecycle (any thread)

    /** Starts the loop and waits until every endpoint is bound; throws what binding threw. */
    public void start() {
        thread.start();
        try {
            if (!started.await(30, TimeUnit.SECONDS)) {
                running = false; // it may still come up: then it stops at once, and leaves nothing behind
                waker.wake();
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

    public boolean isLoopThread() {
        return Thread.currentThread() == thread;
    }

    /** Stops the loop, releases the socket and the context, and drains the listener; bounded by the close timeout. */
    public void close() {
        running = false;
        abandonCalls(); // callers waiting on the loop get their answer now, not when the loop gets round to it
        waker.wake();
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
        return outboxes.offer(identity, session, frames, size, ttl == null ? 0 : ttl.toNanos(), isLoopThread());
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
        Call<T> call = new Call<>(task, whenClosed);
        tasks.add(call);
        if (!running) {
            abandonCalls(); // close() may have drained the queue just before this call joined it
        }
        waker.wake();
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
            throw new IllegalStateException("the router loop did not answer within its bound: is a MessageHandler blocking it?");
        }
    }

    public Message receive(long timeout, TimeUnit unit) throws InterruptedException {
        return inbox.receive(timeout, unit, running);
    }

    /** Waits for one message, then takes what else is already there, up to {@code max} in all. */
    public int receive(List<Message> into, int max, long timeout, TimeUnit unit) throws InterruptedException {
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
                list.add(toSnapshot(r));
            }
            return Collections.unmodifiableList(list);
        }, List.of());
    }

    public PeerSnapshot snapshot(Identity identity) {
        return call(() -> {
            PeerRecord r = table.get(identity);
            return r == null ? null : toSnapshot(r);
        }, null);
    }

    public boolean evict(Identity identity) {
        return call(() -> {
            PeerRecord r = table.get(identity);
            if (r == null || r.state() == PeerState.QUARANTINED) {
                return false;
            }
            evictPeer(r, EvictReason.EXPLICIT, true, System.nanoTime());
            return true;
        }, false);
    }

    // ------------------------------------------------------------------ the loop

    private void run() {
        try {
            open();
        } catch (RuntimeException | IOException | Error e) {
            startFailure = e instanceof RuntimeException ? e : new IllegalStateException("the router could not open its socket: " + e, e);
            running = false;
            releaseQuietly();
            started.countDown();
            stopped.countDown();
            return;
        }
        started.countDown();
        PollItem[] items = {new PollItem(base, ZMQ.Poller.POLLIN), new PollItem(waker.source(), ZMQ.Poller.POLLIN)};
        boolean more = false;
        try {
            while (running) {
                if (!more) {
                    waker.sleeping(true); // before looking at the queues: see Waker
                    long timeout = pollTimeoutMillis();
                    if (timeout != 0) {
                        zmq.ZMQ.poll(selector, items, 2, timeout);
                    }
                    waker.sleeping(false);
                    if (timeout != 0 && items[1].isReadable()) {
                        waker.drain();
                    }
                }
                try {
                    more = turn();
                } catch (RuntimeException e) {
                    // A bug of ours must not take every peer down with it: count it, say it, go on.
                    loopCounters.inc(Counter.LOOP_ERRORS);
                    badInput.warn("loop", System.nanoTime(), "router loop turn failed; carrying on (please report this)", e);
                    more = false;
                }
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

    /** One turn of the loop; true if it should turn again before polling. */
    private boolean turn() {
        takeTransportEvents();
        Call<?> call;
        while ((call = tasks.poll()) != null) {
            call.run();
        }
        boolean drained = receiveBatch();
        if (drained && !pendingDisconnects.isEmpty()) {
            // Every message a dead connection had pushed before its DISCONNECTED is read: now it is safe to forget it.
            for (TransportEvent e : pendingDisconnects) {
                onDisconnected(e.channel);
            }
            pendingDisconnects.clear();
        }
        long now = System.nanoTime();
        outboxes.flush(now, writer);
        if (!inbox.paused()) {
            table.onTick(now, tickSink);
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
        selector = Selector.open();
        context = new ZContext(config.ioThreads);
        socket = context.createSocket(SocketType.ROUTER);
        base = socket.base();
        socket.setRouterMandatory(true);
        socket.setRouterHandover(true);
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
                            (int) Math.min(Integer.MAX_VALUE, retry), "router closing").encode());
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
        peerCount = 0;
        releaseQuietly();
        log.info("router closed after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - now));
    }

    private void releaseQuietly() {
        try {
            if (base != null) {
                base.setEventHook(null, 0);
            }
        } catch (RuntimeException e) {
            log.debug("unhooking events failed", e);
        }
        try {
            if (context != null) {
                context.close();
            }
        } catch (RuntimeException e) {
            log.warn("closing the ZeroMQ context failed", e);
        }
        try {
            if (selector != null) {
                selector.close();
            }
        } catch (IOException e) {
            log.debug("closing the selector failed", e);
        }
        waker.close();
    }

    // ------------------------------------------------------------------ transport events

    /** Runs on JeroMQ's I/O thread: record and hand over, nothing else. */
    private void onTransportEvent(zmq.ZMQ.Event event) {
        if (!(event.arg instanceof SocketChannel)) {
            return;
        }
        SocketChannel ch = (SocketChannel) event.arg;
        if (event.event == ZMQ.EVENT_ACCEPTED) {
            String address = addressOf(ch);
            transportEvents.add(new TransportEvent(true, ch, address, Connections.key(address, localAddressOf(ch))));
        } else {
            transportEvents.add(new TransportEvent(false, ch, null, null));
        }
        waker.wake();
    }

    /** Formats a channel's remote address exactly as JeroMQ formats the Peer-Address metadata. */
    static String addressOf(SocketChannel ch) {
        try {
            SocketAddress sa = ch.getRemoteAddress();
            if (sa instanceof InetSocketAddress) {
                InetSocketAddress isa = (InetSocketAddress) sa;
                return isa.getAddress().getHostAddress() + ":" + isa.getPort();
            }
        } catch (IOException e) {
            // closed before we looked
        }
        return null;
    }

    /** Formats a channel's local address as JeroMQ formats the self-address metadata, or null. */
    static String localAddressOf(SocketChannel ch) {
        try {
            SocketAddress sa = ch.getLocalAddress();
            if (sa instanceof InetSocketAddress) {
                InetSocketAddress isa = (InetSocketAddress) sa;
                return isa.getAddress().getHostAddress() + ":" + isa.getPort();
            }
        } catch (IOException e) {
            // closed before we looked
        }
        return null;
    }

    /** Applies ACCEPTED events now; keeps DISCONNECTED events to apply once the socket is drained. */
    private void takeTransportEvents() {
        TransportEvent e;
        while ((e = transportEvents.poll()) != null) {
            if (e.accepted) {
                connections.accepted(e.channel, e.address, e.key, System.nanoTime()); // read here: most turns have no event
            } else {
                pendingDisconnects.add(e);
            }
        }
    }

    private void onDisconnected(SocketChannel ch) {
        Conn conn = connections.closed(ch);
        if (conn == null || conn.shutting || conn.identity == null) {
            return; // unknown, shut by us (already out of the table), or never identified
        }
        PeerRecord r = table.get(conn.identity);
        // Only if the identity is still on this very connection: when the kernel has reused the key for a newer
        // connection (the same ports), that one is at the key now and this late DISCONNECTED is not about it.
        Conn atKey = connections.at(conn.key);
        if (r != null && r.state() != PeerState.QUARANTINED && conn.key != null && conn.key.equals(r.address())
                && (atKey == null || atKey == conn)) {
            evictPeer(r, EvictReason.TRANSPORT_LOST, false, System.nanoTime());
        }
    }

    // ------------------------------------------------------------------ receive

    /** Reads up to a batch; true if the socket has nothing more to read right now. */
    private boolean receiveBatch() {
        int batch = inbox.room(RECEIVE_BATCH);
        if (batch == 0) {
            return false; // paused: the application's queue is full
        }
        for (int i = 0; i < batch; i++) {
            Msg first = base.recv(ZMQ.DONTWAIT);
            if (first == null) {
                int errno = base.errno();
                if (errno != ZError.EAGAIN && errno != ZError.ETERM && running) {
                    log.warn("receive on the ROUTER socket failed with errno {}", errno);
                }
                return true;
            }
            frameBuffer.clear();
            Msg last = first;
            String key = null;
            while (last.hasMore()) {
                last = base.recv(0);
                if (last == null) {
                    break;
                }
                if (key == null) {
                    key = keyOf(last.getMetadata());
                }
                frameBuffer.add(last.data());
            }
            if (frameBuffer.isEmpty()) {
                continue; // a ROUTER always has a body; nothing to deliver
            }
            if (frameBuffer.size() == 1 && Arrays.equals(frameBuffer.get(0), disconnectMarker)) {
                onPipeGone(Identity.fromWire(first.data()));
                continue;
            }
            loopCounters.inc(Counter.MESSAGES_RECEIVED);
            // Immutable, so Message keeps it as it is; List.of(one) is a single small object.
            List<byte[]> frames = frameBuffer.size() == 1 ? List.of(frameBuffer.get(0)) : List.copyOf(frameBuffer);
            onMessage(first.data(), key, frames);
        }
        return false;
    }

    /**
     * The connection key of a message's metadata. JeroMQ gives every message of one connection the same metadata
     * object, so the key is made once per connection, not once per message; the cache forgets closed connections by
     * starting afresh whenever it outgrows the open ones.
     */
    private String keyOf(Metadata md) {
        if (md == null) {
            return null;
        }
        String key = keyByMetadata.get(md);
        if (key == null) {
            if (keyByMetadata.size() > 2 * connections.size() + 64) {
                keyByMetadata.clear();
            }
            key = Connections.key(md.get(Metadata.PEER_ADDRESS), md.get(SELF_ADDRESS));
            if (key != null) {
                keyByMetadata.put(md, key);
            }
        }
        return key;
    }

    /**
     * ZeroMQ says the pipe that owns {@code identity} ended with its connection. Under a name that
     * ROUTER_HANDOVER made up for a replaced pipe it concerns nobody in the table.
     */
    private void onPipeGone(Identity identity) {
        PeerRecord r = table.get(identity);
        if (r != null && r.state() != PeerState.QUARANTINED) {
            evictPeer(r, EvictReason.TRANSPORT_LOST, false, System.nanoTime());
        }
    }

    /**
     * The identity a message names: the one its connection already carries if the bytes match (as
     * they do for every message but a connection's first), so no new one is made and hashed per
     * message, and the peer table finds its own key at once.
     */
    private static Identity identityOf(byte[] routingId, Conn conn) {
        if (conn != null && conn.identity != null && Arrays.equals(conn.identity.unsafeBytes(), routingId)) {
            return conn.identity;
        }
        return Identity.fromWire(routingId);
    }

    private static byte[] newMarker() {
        byte[] marker = new byte[32];
        new java.security.SecureRandom().nextBytes(marker);
        marker[0] = (byte) 0xFE; // never a protocol command, never empty
        return marker;
    }

    private void onMessage(byte[] routingId, String key, List<byte[]> frames) {
        long now = System.nanoTime();
        Conn conn = connections.at(key);
        Identity identity = identityOf(routingId, conn);
        if (identity.isGenerated() && conn != null && conn.identity != null && !conn.identity.equals(identity)) {
            // Left in a pipe that ROUTER_HANDOVER renamed: it came from conn.identity's old connection, and belongs to
            // the session that connection carried. It is read like any message of that connection.
            loopCounters.inc(Counter.HANDOVER_LEFTOVERS);
            onLeftover(conn, frames, now);
            return;
        }
        if (conn != null && conn.shutting) {
            if (conn.replaced) {
                onLeftover(conn, frames, now);
            } else {
                loopCounters.inc(Counter.RECEIVED_AFTER_EVICTION);
            }
            return;
        }
        if (identity.isGenerated()) {
            loopCounters.inc(Counter.RECEIVED_ANONYMOUS);
            badInput.warn("anonymous", now, "peer at {} has routing id {}, which starts with the reserved byte 0x00 (it set "
                    + "none, so ZeroMQ made one up, or it chose a reserved one): it is served, but cannot be recognised when it "
                    + "reconnects; set a ZMQ_ROUTING_ID that does not start with 0x00 on the DEALER", Connections.peerOf(key), identity);
        }
        byte[] head = frames.get(0);
        boolean hello = Command.isHello(head);
        PeerRecord known = table.get(identity); // the one lookup of this message: passed on, not repeated
        if (!hello && known != null && known.heartbeating() && known.state() != PeerState.QUARANTINED
                && Command.looksLikeCommand(head) && (key == null || key.equals(known.address()))) {
            bindSession(conn, identity);
            onCommand(known, head, frames, key, now);
            return;
        }
        if (hello && !admit(identity, known, conn, now)) {
            return;
        }
        Command helloCommand = hello ? decodeHello(head) : null; // decoded once, for the conflict check and onHello
        PeerRecord r = arrive(identity, known, key, conn, now, hello,
                known != null && helloCommand != null && sessions.sameInstance(identity, helloCommand));
        if (r == null) {
            return;
        }
        if (hello) {
            onHello(r, helloCommand, frames, conn, now);
            return;
        }
        Session session = bindSession(conn, identity);
        if (Frames.size(frames) > config.maxMessageSize) {
            loopCounters.inc(Counter.RECEIVED_TOO_LARGE);
            badInput.warn("too-large", now, "dropped a {}-byte message from {} at {}: over the {}-byte limit (maxMessageSize)",
                    Frames.size(frames), identity, Connections.peerOf(key), config.maxMessageSize);
            return;
        }
        deliver(session, frames, key);
    }

    /** The session {@code conn} carries: the identity's current one, recorded on the connection at its first message. */
    private Session bindSession(Conn conn, Identity identity) {
        if (conn != null && conn.session != null && conn.identity != null && conn.identity.equals(identity)) {
            return conn.session;
        }
        Session s = sessions.current(identity);
        if (conn != null) {
            conn.session = s;
        }
        return s;
    }

    /**
     * A message from a connection its identity has left (a zombie, or a pipe ROUTER_HANDOVER renamed): the old
     * session sent it. It goes through the same checks as any message; commands are consumed, data is delivered
     * under that old session (a reply to it returns STALE_SESSION), and nothing here counts as hearing the identity's
     * current connection.
     */
    private void onLeftover(Conn conn, List<byte[]> frames, long now) {
        Session session = conn.session;
        if (session == null) {
            loopCounters.inc(Counter.RECEIVED_AFTER_EVICTION); // never identified: nothing to attribute it to
            return;
        }
        byte[] head = frames.get(0);
        if (session.speaksProtocol() && Command.looksLikeCommand(head)) {
            Command c;
            try {
                c = Command.decode(head);
            } catch (MalformedCommandException e) {
                loopCounters.inc(Counter.RECEIVED_MALFORMED);
                badInput.warn("malformed", now, "ignored a malformed command from {}'s old connection {}: {}", session,
                        conn.address, e.getMessage());
                return;
            }
            if (c.type() != Command.Type.DATA) {
                loopCounters.inc(Counter.COMMANDS_RECEIVED); // a heartbeat or goodbye of a connection already replaced
                return;
            }
            if (frames.size() < 2) {
                loopCounters.inc(Counter.RECEIVED_MALFORMED);
                return;
            }
            frames = frames.subList(1, frames.size());
        }
        if (Frames.size(frames) > config.maxMessageSize) {
            loopCounters.inc(Counter.RECEIVED_TOO_LARGE);
            badInput.warn("too-large", now, "dropped a {}-byte message from {}'s old connection: over the {}-byte limit",
                    Frames.size(frames), session, config.maxMessageSize);
            return;
        }
        deliver(session, frames, conn.key);
    }

    private static Command decodeHello(byte[] frame) {
        try {
            return Command.decode(frame);
        } catch (MalformedCommandException e) {
            throw new AssertionError("isHello accepted a frame decode rejects", e);
        }
    }

    /**
     * Pacing of joins: a HELLO from an identity not in the table takes a token; without one the
     * client is told to come back later, at a time spread over the backlog, and its connection shut.
     */
    private boolean admit(Identity identity, PeerRecord known, Conn conn, long now) {
        if (admissions == null) {
            return true;
        }
        if (known != null && known.state() != PeerState.QUARANTINED) {
            return true; // already admitted: a re-HELLO or a takeover
        }
        if (known != null || admissions.tryTake(now)) {
            return true; // quarantine is handled by arrive()
        }
        loopCounters.inc(Counter.JOINS_DEFERRED);
        // Give each deferred client the next free admission slot, so the herd comes back at the admission
        // rate instead of all at once again; a little jitter keeps equal slots apart.
        long slotNanos = (long) (1e9 / config.maxJoinsPerSecond);
        nextAdmissionSlot = Math.max(nextAdmissionSlot, now + admissions.nanosUntilNext(now)) + slotNanos;
        long retry = nextAdmissionSlot - now + (long) (jitter.nextDouble() * slotNanos);
        sendControl(identity, Command.disconnect(Command.Reason.TRY_LATER, (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(retry)),
                "joins are paced at " + config.maxJoinsPerSecond + " per second").encode());
        connections.shutdownAt(conn, now + evictionGraceNanos);
        return false;
    }

    /**
     * HELLO: the peer speaks our protocol from now on. Its session resumes (what was parked for it
     * is delivered after WELCOME, in order) only if it is the same client instance and asks to;
     * otherwise a new session begins and nothing meant for an earlier one is ever written. WELCOME
     * goes first in the identity's queue and waits for room in a full pipe rather than being lost.
     */
    private void onHello(PeerRecord r, Command hello, List<byte[]> frames, Conn conn, long now) {
        Identity identity = r.identity();
        loopCounters.inc(Counter.HELLOS_RECEIVED);
        loopCounters.inc(Counter.COMMANDS_RECEIVED);
        Session previous = sessions.current(identity);
        Session session = sessions.hello(identity, hello, r.address());
        if (conn != null) {
            conn.session = session;
        }
        table.startHeartbeating(r, now);
        boolean resumed = session == previous;
        outboxes.control(outboxes.get(identity), Command.welcome(session.number(),
                (int) Math.min(Integer.MAX_VALUE, config.heartbeatInterval.toMillis()), Math.min(255, config.liveness),
                resumed ? Command.FLAG_RESUMED : 0).encode());
        sessions.release(identity); // what a resumed session held follows WELCOME, in order
        if (frames.size() > 1) {
            badInput.warn("hello-extra", now, "HELLO from {} carried {} extra frames; ignored", identity, frames.size() - 1);
        }
    }

    /**
     * The table's verdict on an arrival, with its side effects; null if the message must be refused.
     * {@code known} is the identity's record, or null if it is not in the table. A plain DEALER's
     * new connection begins a new session here; a HELLO's session is decided by {@link #onHello}.
     */
    private PeerRecord arrive(Identity identity, PeerRecord known, String key, Conn conn, long now, boolean hello,
            boolean sameClient) {
        PeerRecord r = known;
        PeerTable.Arrival arrival;
        if (r == null) {
            r = table.join(identity, key, now);
            arrival = PeerTable.Arrival.JOINED;
        } else {
            arrival = table.onMessage(r, key, now, sameClient);
        }
        if (conn != null) {
            if (conn.identity != null && !conn.identity.equals(identity)) {
                conn.session = null; // a connection that changed routing id (it cannot in ZMTP, but be safe)
            }
            conn.identity = identity;
        }
        switch (arrival) {
            case JOINED: {
                loopCounters.inc(Counter.JOINS);
                sessions.joined(identity);
                publish(PeerEvent.Type.JOINED, r, null, null);
                if (!hello) {
                    beginPlain(identity, key, conn);
                }
                return r;
            }
            case HEARD:
                return r;
            case TOOK_OVER:
                loopCounters.inc(Counter.TAKEOVERS);
                shutZombie(r.previousAddress(), now);
                publish(PeerEvent.Type.TOOK_OVER, r, r.previousAddress(), null);
                if (!hello) {
                    beginPlain(identity, key, conn);
                }
                return r;
            case CONFLICT:
                loopCounters.inc(Counter.CONFLICTS);
                loopCounters.inc(Counter.RECEIVED_QUARANTINED); // the message that revealed the conflict is refused too
                loopCounters.inc(Counter.EVICTIONS);
                loopCounters.inc(Counter.EVICTED_CONFLICT);
                log.warn("identity {} was taken over {} times within {} (latest from {}, before that {}): two live clients "
                        + "share it; quarantined for {}. Give each client its own routing id.", identity, config.conflictThreshold,
                        config.conflictWindow, Connections.peerOf(key), Connections.peerOf(r.previousAddress()), config.quarantine);
                sessions.quarantine(identity, key);
                shutZombie(r.previousAddress(), now);
                refuse(identity, conn, now, hello);
                publish(PeerEvent.Type.CONFLICT, r, r.previousAddress(), null);
                publish(PeerEvent.Type.EVICTED, r, r.previousAddress(), EvictReason.CONFLICT);
                return null;
            case QUARANTINED:
                loopCounters.inc(Counter.RECEIVED_QUARANTINED);
                refuse(identity, conn, now, hello);
                return null;
            default:
                throw new AssertionError(arrival);
        }
    }

    private void beginPlain(Identity identity, String key, Conn conn) {
        Session s = sessions.beginPlain(identity, key);
        if (conn != null) {
            conn.session = s;
        }
    }

    /** Turns a quarantined identity's connection away: a DISCONNECT for protocol clients, then shut. */
    private void refuse(Identity identity, Conn conn, long now, boolean hello) {
        if (hello) {
            sendControl(identity, Command.disconnect(Command.Reason.CONFLICT, (int) Math.min(Integer.MAX_VALUE, config.quarantine.toMillis()),
                    "identity " + identity + " is used by several clients at once").encode());
            connections.shutdownAt(conn, now + evictionGraceNanos);
        } else if (conn != null && !conn.shutting) {
            connections.shutdown(conn, now);
        }
    }

    private void onCommand(PeerRecord r, byte[] head, List<byte[]> frames, String key, long now) {
        Command c;
        try {
            c = Command.decode(head);
        } catch (MalformedCommandException e) {
            table.onMessage(r, key, now); // still proof of life
            loopCounters.inc(Counter.RECEIVED_MALFORMED);
            badInput.warn("malformed", now, "ignored a malformed command from {} at {}: {}", r.identity(), Connections.peerOf(key),
                    e.getMessage());
            return;
        }
        table.onMessage(r, key, now);
        switch (c.type()) {
            case HEARTBEAT:
                loopCounters.inc(Counter.HEARTBEATS_RECEIVED);
                loopCounters.inc(Counter.COMMANDS_RECEIVED);
                sendControl(r.identity(), Command.heartbeatFrame());
                break;
            case BYE:
                loopCounters.inc(Counter.COMMANDS_RECEIVED);
                table.remove(r);
                sessions.end(r.identity(), key, EvictReason.BYE, Counter.DROPPED_PEER_GONE);
                loopCounters.inc(Counter.LEFT);
                publish(PeerEvent.Type.LEFT, r, null, EvictReason.BYE);
                break;
            case DATA:
                if (frames.size() < 2) {
                    loopCounters.inc(Counter.RECEIVED_MALFORMED);
                    badInput.warn("malformed", now, "ignored a DATA command without payload from {}", r.identity());
                    break;
                }
                List<byte[]> payload = frames.subList(1, frames.size());
                if (Frames.size(payload) > config.maxMessageSize) {
                    loopCounters.inc(Counter.RECEIVED_TOO_LARGE);
                    badInput.warn("too-large", now, "dropped a {}-byte message from {}: over the {}-byte limit (maxMessageSize)",
                            Frames.size(payload), r.identity(), config.maxMessageSize);
                    break;
                }
                deliver(sessions.current(r.identity()), payload, key);
                break;
            default:
                loopCounters.inc(Counter.RECEIVED_MALFORMED);
                badInput.warn("malformed", now, "ignored a {} command from client {}: only servers send it", c.type(), r.identity());
        }
    }

    private void deliver(Session session, List<byte[]> frames, String key) {
        inbox.deliver(new Message(session, frames, Connections.peerOf(key)));
    }

    // ------------------------------------------------------------------ eviction and connections

    private final PeerTable.TickSink tickSink = new PeerTable.TickSink() {
        @Override
        public void suspect(PeerRecord peer) {
            loopCounters.inc(Counter.SUSPECTS);
            publish(PeerEvent.Type.SUSPECT, peer, null, null);
        }

        @Override
        public void evicted(PeerRecord peer, EvictReason reason) {
            evictPeer(peer, reason, true, System.nanoTime());
        }

        @Override
        public void quarantineEnded(PeerRecord peer) {
            outboxes.endQuarantine(peer.identity());
            log.info("quarantine of identity {} ended; it may join again", peer.identity());
        }
    };

    private void evictPeer(PeerRecord r, EvictReason reason, boolean shutConnection, long now) {
        table.remove(r);
        publish(PeerEvent.Type.EVICTED, r, null, reason); // before the session's end: membership first, as on joining
        boolean lostTouch = reason == EvictReason.TRANSPORT_LOST || reason == EvictReason.HEARTBEAT_TIMEOUT;
        if (lostTouch && r.heartbeating() && !config.resumeWindow.isZero()) {
            sessions.park(r.identity(), now + config.resumeWindow.toNanos()); // the session waits for its client
        } else {
            sessions.end(r.identity(), r.address(), reason, Counter.DROPPED_PEER_GONE);
        }
        loopCounters.inc(Counter.EVICTIONS);
        switch (reason) {
            case HEARTBEAT_TIMEOUT: loopCounters.inc(Counter.EVICTED_HEARTBEAT_TIMEOUT); break;
            case TRANSPORT_LOST: loopCounters.inc(Counter.EVICTED_TRANSPORT_LOST); break;
            case EXPLICIT: loopCounters.inc(Counter.EVICTED_EXPLICIT); break;
            default: break;
        }
        if (shutConnection) {
            Conn conn = connections.at(r.address());
            if (conn == null) {
                log.warn("evicting {} ({}): no connection is known for address {}; the transport heartbeat will reap it",
                        r.identity(), reason, Connections.peerOf(r.address()));
            } else if (!conn.shutting) {
                conn.eviction = true;
                if (r.heartbeating()) {
                    sendControl(r.identity(), Command.disconnect(Command.Reason.EVICTED,
                            (int) Math.min(Integer.MAX_VALUE, config.heartbeatInterval.toMillis()), reason.name()).encode());
                    connections.shutdownAt(conn, now + evictionGraceNanos);
                } else {
                    connections.shutdown(conn, now);
                }
            }
        }
        if (log.isDebugEnabled()) {
            log.debug("evicted {} at {}: {}", r.identity(), r.address(), reason);
        }
    }

    /** Shuts the connection an identity left behind when it moved to a new one. */
    private void shutZombie(String previousAddress, long now) {
        Conn old = connections.at(previousAddress);
        if (old != null && !old.shutting) {
            loopCounters.inc(Counter.ZOMBIES_SHUT);
            old.replaced = true;
            connections.shutdown(old, now);
        }
    }

    // ------------------------------------------------------------------ send

    /**
     * Writes one message; false if the peer's pipe is full (EAGAIN) and it must wait. To a protocol client every message
     * goes after a DATA frame naming its session, so a client can tell what is not for its own life.
     */
    private boolean write(Outbox ob, byte[][] frames, long bytes) {
        byte[] tag = ob.dataTag;
        if (!base.send(new Msg(ob.identity.unsafeBytes()), ZMQ.SNDMORE | ZMQ.DONTWAIT)) {
            if (base.errno() == ZError.EAGAIN) {
                return false;
            }
            // EHOSTUNREACH: the connection died and DISCONNECTED is not processed yet
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
        if (base.send(new Msg(identity.unsafeBytes()), ZMQ.SNDMORE | ZMQ.DONTWAIT)) {
            base.send(new Msg(frame), 0);
        }
    }

    /** A queued command (see {@link Outboxes#control}); false if the pipe is full. */
    private boolean writeControl(Outbox ob, byte[] frame) {
        if (!base.send(new Msg(ob.identity.unsafeBytes()), ZMQ.SNDMORE | ZMQ.DONTWAIT)) {
            // EAGAIN: retried; EHOSTUNREACH: the connection is gone and the command with it
            return base.errno() != ZError.EAGAIN;
        }
        base.send(new Msg(frame), 0);
        return true;
    }

    // ------------------------------------------------------------------ helpers

    private void publish(PeerEvent.Type type, PeerRecord r, String previousAddress, EvictReason reason) {
        events.publish(new PeerEvent(type, r.identity(), sessions.current(r.identity()), Connections.peerOf(r.address()),
                Connections.peerOf(previousAddress), reason, Instant.now()));
    }

    private PeerSnapshot toSnapshot(PeerRecord r) {
        Outbox ob = outboxes.get(r.identity());
        Session s = ob == null ? null : ob.session;
        return new PeerSnapshot(r.identity(), r.state(), Connections.peerOf(r.address()), wall(r.connectedSince()),
                wall(r.lastHeard()), r.takeovers(), r.heartbeating(), s, ob == null ? 0 : ob.count.get(),
                ob == null ? 0 : ob.bytes.get());
    }

    private Instant wall(long nanos) {
        return startWall.plusNanos(nanos - startNanos);
    }

    /** Open connections the loop knows of (for tests and diagnostics). */
    public int connectionCount() {
        return call(connections::size, 0);
    }
}
