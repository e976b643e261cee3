package io.github.zmqliveness.transport;

import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.ClientListener;
import io.github.zmqliveness.ClientState;
import io.github.zmqliveness.Failover;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.SendResult;
import io.github.zmqliveness.liveness.Backoff;
import io.github.zmqliveness.liveness.ServerWatch;
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
import zmq.poll.PollItem;

import java.io.IOException;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The client's engine: one thread that alone owns the DEALER socket. It connects, says HELLO,
 * waits for WELCOME, heartbeats, watches the server's silence, and on any failure closes the
 * socket (dropping whatever the old connection still held) and, after a backoff with full jitter,
 * opens a new one to the next endpoint. JeroMQ's own reconnect is off: every reconnect is a new
 * socket, so nothing from an old connection can leak into a new session.
 */
public final class ClientLoop {
    private static final Logger log = LoggerFactory.getLogger("io.github.zmqliveness.DealerClient");
    private static final long MIN_TCP_CONNECT_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** While TCP is up and WELCOME has not come, how often the I/O thread is nudged (see {@link #nudgeIoThread}). */
    private static final long NUDGE_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Immutable settings from the builder. */
    public static final class Settings {
        final Identity identity;
        final List<String> endpoints;
        final Failover failover;
        final Duration heartbeatInterval;
        final int liveness;
        final Duration transportHeartbeatInterval;
        final Duration transportHeartbeatTimeout;
        final Backoff backoff;
        final Duration handshakeInterval;
        final boolean resume;
        final int maxQueuedMessages;
        final long maxQueuedBytes;
        final Duration messageTtl;
        final int maxMessageSize;
        final int receiveQueueCapacity;
        final Duration closeTimeout;
        final boolean stopOnConflict;
        final ClientListener listener;
        /** CURVE: the server's public key, this client's public and secret keys; all null without CURVE. */
        byte[] curveServerKey;
        byte[] curvePublicKey;
        byte[] curveSecretKey;
        /** Plain mode: no ZLP commands, for a server that is not a LivenessRouter (see DealerClient.Builder#plain). */
        boolean plain;

        /** Speak no ZLP: ready once the ZMTP handshake is done, liveness from ZMTP heartbeats alone. */
        public Settings plain() {
            this.plain = true;
            return this;
        }

        /** Connect with CurveZMQ: the server's public key, and this client's key pair (32 bytes each). */
        public Settings curve(byte[] serverKey, byte[] publicKey, byte[] secretKey) {
            this.curveServerKey = serverKey.clone();
            this.curvePublicKey = publicKey.clone();
            this.curveSecretKey = secretKey.clone();
            return this;
        }

        @SuppressWarnings("checkstyle:ParameterNumber")
        public Settings(Identity identity, List<String> endpoints, Failover failover, Duration heartbeatInterval, int liveness,
                        Duration transportHeartbeatInterval, Duration transportHeartbeatTimeout,
                        Backoff backoff, Duration handshakeInterval, boolean resume, int maxQueuedMessages, long maxQueuedBytes,
                        Duration messageTtl, int maxMessageSize, int receiveQueueCapacity, Duration closeTimeout,
                        boolean stopOnConflict, ClientListener listener) {
            this.identity = identity;
            this.endpoints = List.copyOf(endpoints);
            this.failover = failover;
            this.heartbeatInterval = heartbeatInterval;
            this.liveness = liveness;
            this.transportHeartbeatInterval = transportHeartbeatInterval;
            this.transportHeartbeatTimeout = transportHeartbeatTimeout;
            this.backoff = backoff;
            this.handshakeInterval = handshakeInterval;
            this.resume = resume;
            this.maxQueuedMessages = maxQueuedMessages;
            this.maxQueuedBytes = maxQueuedBytes;
            this.messageTtl = messageTtl;
            this.maxMessageSize = maxMessageSize;
            this.receiveQueueCapacity = receiveQueueCapacity;
            this.closeTimeout = closeTimeout;
            this.stopOnConflict = stopOnConflict;
            this.listener = listener;
        }
    }

    private final Settings settings;
    private final byte[] instance = new byte[16];
    private final Waker waker = new Waker();
    /** What the application sent and the loop has not written yet: the same outbox as one of the router's identities. */
    private final Outbox outbox;
    private final BlockingQueue<Message> inbound;
    /** Connection failures from JeroMQ's I/O thread: true for a lost connection, false for a failed connect. */
    private final ConcurrentLinkedQueue<Boolean> disconnects = new ConcurrentLinkedQueue<>();
    private final Counters counters = new Counters(Counter.Side.CLIENT);
    private final RateLimitedLog badInput = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
    private final EventDispatcher<ClientEvent> events;
    private final Thread thread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile ClientState state = ClientState.BACKOFF;
    private volatile String currentEndpoint;
    private volatile long session;

    // loop thread only
    private ZContext context;
    private ZMQ.Socket socket;
    private SocketBase base;
    private Selector selector;
    private int endpointIndex;
    private int attempt;
    private long epoch;
    private long nextAttemptAt;
    private long connectDeadline;
    private Attempt current;
    private final ServerWatch watch;
    private boolean everConnected;
    /**
     * Data that came on the current connection before its WELCOME, tagged with the session this client asked to
     * resume: delivered if WELCOME says that session resumed, dropped otherwise.
     */
    private final List<List<byte[]>> held = new ArrayList<>();
    /** The session this connection's HELLO asked to resume, or 0. */
    private long resuming;
    /** Loop only: when the server's silence was last judged, and how long the loop waited in polls since, as it asked. */
    private long lastJudgedAt;
    private long polledNanos;

    public ClientLoop(Settings settings) {
        this.settings = settings;
        this.outbox = new Outbox(settings.identity);
        new SecureRandom().nextBytes(instance);
        this.inbound = new ArrayBlockingQueue<>(settings.receiveQueueCapacity);
        this.watch = new ServerWatch(settings.heartbeatInterval.toNanos(), settings.liveness);
        this.events = new EventDispatcher<>(settings.listener == null ? null : settings.listener::onEvent, "zmq-liveness-client-events-" + settings.identity,
                () -> counters.inc(Counter.LISTENER_ERRORS), () -> counters.inc(Counter.EVENTS_DROPPED), EventDispatcher.DEFAULT_CAPACITY, log);
        this.thread = new Thread(this::run, "zmq-liveness-client-" + settings.identity);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public ClientState state() {
        return state;
    }

    public String endpoint() {
        return currentEndpoint;
    }

    public long session() {
        return session;
    }

    public Map<String, Long> counters() {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.putAll(counters.snapshot());
        m.put("queuedMessages", (long) outbox.count.get());
        return m;
    }

    // ------------------------------------------------------------------ API (any thread)

    public SendResult send(byte[][] frames, Duration ttl) {
        ClientState s = state;
        if (!running || s == ClientState.CLOSED) {
            return SendResult.CLOSED;
        }
        if (s == ClientState.STOPPED) {
            return SendResult.QUARANTINED;
        }
        long size = Frames.checkedSize(frames);
        if (size > settings.maxMessageSize) {
            counters.inc(Counter.DROPPED_TOO_LARGE);
            return SendResult.TOO_LARGE;
        }
        if (!outbox.reserve(size, settings.maxQueuedMessages, settings.maxQueuedBytes)) {
            counters.inc(Counter.DROPPED_QUEUE_FULL);
            return SendResult.DROPPED_QUEUE_FULL;
        }
        long t = (ttl != null ? ttl : settings.messageTtl).toNanos();
        outbox.queue.add(new Outbox.Out(frames, size, System.nanoTime() + t, 0));
        waker.wake();
        return s == ClientState.READY ? SendResult.QUEUED : SendResult.PARKED;
    }

    public Message receive(long timeout, TimeUnit unit) throws InterruptedException {
        return running ? inbound.poll(timeout, unit) : inbound.poll();
    }

    public boolean isRunning() {
        return running;
    }

    public void close() {
        running = false;
        waker.wake();
        if (Thread.currentThread() != thread) {
            try {
                if (!stopped.await(settings.closeTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    log.warn("client loop did not stop within {}", settings.closeTimeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        events.close(settings.closeTimeout);
    }

    // ------------------------------------------------------------------ the loop

    private void run() {
        try {
            selector = Selector.open();
            context = new ZContext(1);
            context.setLinger(0);
            nextAttemptAt = System.nanoTime();
            while (running) {
                long now = System.nanoTime();
                if (socket == null && state != ClientState.STOPPED && now >= nextAttemptAt) {
                    connect(now);
                }
                waker.sleeping(true); // before looking at the queues: see Waker
                long timeout = pollTimeoutMillis(now);
                if (timeout == 0) {
                    // work is waiting: no poll
                } else if (socket != null) {
                    PollItem[] items = {new PollItem(base, ZMQ.Poller.POLLIN), new PollItem(waker.source(), ZMQ.Poller.POLLIN)};
                    long pollStart = System.nanoTime();
                    zmq.ZMQ.poll(selector, items, 2, timeout);
                    polledNanos += Math.min(System.nanoTime() - pollStart, TimeUnit.MILLISECONDS.toNanos(timeout));
                } else {
                    PollItem[] items = {new PollItem(waker.source(), ZMQ.Poller.POLLIN)};
                    zmq.ZMQ.poll(selector, items, 1, timeout);
                }
                waker.sleeping(false);
                waker.drain();
                turn();
            }
        } catch (IOException | RuntimeException e) {
            log.error("client {} failed; it is closed", settings.identity, e);
        } finally {
            boolean sayBye = state == ClientState.READY && !settings.plain;
            state = ClientState.CLOSED;
            running = false;
            dropHeld(Counter.DROPPED_ON_CLOSE); // held for a resume that WELCOME never confirmed
            if (sayBye && socket != null) {
                writeNow(Command.bye().encode());
                context.setLinger(200); // let the goodbye reach the wire
            }
            closeSocket();
            if (context != null) {
                context.close();
            }
            try {
                if (selector != null) {
                    selector.close();
                }
            } catch (IOException ignored) {
                // closing
            }
            waker.close();
            stopped.countDown();
        }
    }

    private long pollTimeoutMillis(long now) {
        long next;
        if (socket == null) {
            next = state == ClientState.STOPPED ? now + TimeUnit.SECONDS.toNanos(1) : nextAttemptAt;
        } else if (state == ClientState.CONNECTING) {
            next = connectDeadline();
            if (current.tcpUpAt != 0) {
                next = Math.min(next, nextNudgeAt(current));
            }
        } else {
            next = watch.nextDeadline();
        }
        if (!running || !disconnects.isEmpty()) {
            return 0;
        }
        if (state == ClientState.READY && outbox.head == null && !outbox.queue.isEmpty()) {
            return 0; // new messages to write
        }
        if (state == ClientState.READY && outbox.head != null) {
            next = Math.min(next, now + TimeUnit.MILLISECONDS.toNanos(10)); // a refused head is retried soon
        }
        return Math.max(0, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(next - now) + 1));
    }

    private void turn() {
        long now = System.nanoTime();
        if (socket == null) {
            expireQueued(now);
            return;
        }
        if (!disconnects.isEmpty()) {
            boolean wasConnected = disconnects.contains(Boolean.TRUE);
            // What the connection delivered before it ended comes first: above all a DISCONNECT and its
            // retry-after, which a closing router sends just before it closes (a slow loop sees both at once).
            receiveAll(now);
            if (socket == null) {
                return; // the server's DISCONNECT ended it
            }
            disconnects.clear();
            lose(wasConnected ? ClientEvent.Cause.CONNECTION_LOST : ClientEvent.Cause.CONNECT_FAILED, now, 0);
            return;
        }
        if (settings.plain && state == ClientState.CONNECTING && current.handshaken) {
            onPlainReady(now);
        }
        receiveAll(now);
        if (socket == null) {
            return;
        }
        now = System.nanoTime();
        if (state == ClientState.CONNECTING && now >= connectDeadline()) {
            lose(ClientEvent.Cause.NO_WELCOME, now, 0);
            return;
        }
        if (state == ClientState.CONNECTING && current.tcpUpAt != 0 && now >= nextNudgeAt(current)) {
            nudgeIoThread();
            current.nudgedAt = now;
        }
        if (state == ClientState.READY && settings.plain) {
            flush(now); // liveness is ZeroMQ's: its heartbeats end a dead connection, and DISCONNECTED says so
        } else if (state == ClientState.READY) {
            noticeStall(now);
            if (watch.silent(now)) {
                counters.inc(Counter.SERVER_SILENT);
                lose(ClientEvent.Cause.SERVER_SILENT, now, 0);
                return;
            }
            if (watch.heartbeatDue(now)) {
                writeNow(Command.heartbeatFrame());
                watch.sent(now);
                counters.inc(Counter.HEARTBEATS_SENT);
            }
            flush(now);
        }
    }

    /**
     * Between two judgements of the server's silence the loop waited in polls, at most as long as it asked, and
     * worked; beyond that (a GC pause, the process stopped or starved) it could not listen, and the server is not
     * called silent for it before one interval from now (ServerWatch#stalled). The session is kept either way.
     */
    private void noticeStall(long now) {
        long stall = lastJudgedAt == 0 ? 0 : now - lastJudgedAt - polledNanos;
        lastJudgedAt = now;
        polledNanos = 0;
        if (stall >= watch.intervalNanos() / 2) {
            watch.stalled(now);
            counters.inc(Counter.STALLS);
            if (stall >= watch.intervalNanos()) {
                badInput.warn("stall", now, "client {} did not run for {} ms (a GC pause, or the process stopped or starved); "
                        + "the server is not called silent for it", settings.identity, TimeUnit.NANOSECONDS.toMillis(stall));
            }
        }
    }

    private void connect(long now) {
        String endpoint = settings.endpoints.get(endpointIndex % settings.endpoints.size());
        currentEndpoint = endpoint;
        epoch++;
        socket = context.createSocket(SocketType.DEALER);
        base = socket.base();
        socket.setIdentity(settings.identity.unsafeBytes());
        socket.setLinger(0);
        if (settings.curveServerKey != null) {
            socket.setCurveServerKey(settings.curveServerKey);
            socket.setCurvePublicKey(settings.curvePublicKey);
            socket.setCurveSecretKey(settings.curveSecretKey);
        }
        // Our reconnects, with our backoff, on a fresh socket. Not -1: JeroMQ 0.6.0 then retries a refused
        // connect in a tight loop on its I/O thread. The first failed attempt (CONNECT_RETRIED) ends this socket.
        socket.setReconnectIVL((int) Math.max(100, settings.handshakeInterval.toMillis()));
        socket.setHandshakeIvl((int) settings.handshakeInterval.toMillis());
        socket.setHeartbeatIvl((int) Math.max(1, settings.transportHeartbeatInterval.toMillis()));
        socket.setHeartbeatTimeout((int) Math.max(1, settings.transportHeartbeatTimeout.toMillis()));
        socket.setMaxMsgSize(settings.maxMessageSize + 64L);
        socket.setImmediate(true);
        // ZeroMQ sends HELLO as the very first message of the connection, before anything queued.
        // Under CURVE the HELLO names the identity, for a server that lets one key use several.
        if (!settings.plain) {
            socket.setHelloMsg(Command.hello(instance, epoch, settings.resume ? Command.FLAG_RESUME : 0,
                    settings.curveServerKey != null ? settings.identity.unsafeBytes() : null).encode());
        }
        resuming = settings.resume && !settings.plain ? session : 0;
        dropHeld(Counter.RECEIVED_STALE);
        Attempt a = new Attempt();
        current = a;
        base.setEventHook(ev -> {
            if (ev.event == ZMQ.EVENT_CONNECTED) {
                a.tcpUpAt = System.nanoTime(); // the loop reads it when its deadline comes; no need to wake it
                return;
            }
            if (ev.event == zmq.ZMQ.ZMQ_EVENT_HANDSHAKE_PROTOCOL) {
                a.handshaken = true; // plain mode: the connection is ready
                waker.wake();
                return;
            }
            if (ev.event == zmq.ZMQ.ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                counters.inc(Counter.KEY_REFUSED);
                badInput.warn("key-refused", System.nanoTime(), "client {}: server {} refused this client's CURVE key {} "
                        + "(status {}): is it in the server's authorized keys, for this identity? Retrying with backoff",
                        settings.identity, endpoint, settings.curvePublicKey == null ? "?"
                                : io.github.zmqliveness.CurveKeyPair.encode(settings.curvePublicKey), ev.arg);
                return; // the connection closes next: DISCONNECTED says so
            }
            disconnects.add(ev.event == ZMQ.EVENT_DISCONNECTED);
            waker.wake();
        }, ZMQ.EVENT_CONNECTED | ZMQ.EVENT_DISCONNECTED | ZMQ.EVENT_CONNECT_RETRIED | zmq.ZMQ.ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                | (settings.plain ? zmq.ZMQ.ZMQ_EVENT_HANDSHAKE_PROTOCOL : 0));
        socket.connect(endpoint);
        state = ClientState.CONNECTING;
        // Two phases: the TCP connect must succeed within the liveness bound (at least 2 s: a dropped SYN is sent
        // again after 1 s), so a black-holed server is left quickly; once TCP is up, the ZMTP handshake may take
        // the handshake interval (an overloaded server's accept queue), then HELLO has the liveness bound for WELCOME.
        connectDeadline = now + Math.max(MIN_TCP_CONNECT_NANOS, watch.silenceLimitNanos());
        watch.reset(now);
        if (everConnected || attempt > 0) {
            counters.inc(Counter.RECONNECTS);
        }
        log.debug("client {} connecting to {} (attempt {})", settings.identity, endpoint, attempt);
    }

    private void receiveAll(long now) {
        for (int i = 0; i < 1024 && socket != null; i++) {
            Msg first = base.recv(ZMQ.DONTWAIT);
            if (first == null) {
                if (base.errno() != ZError.EAGAIN && running) {
                    log.debug("client receive failed with errno {}", base.errno());
                }
                return;
            }
            List<byte[]> frames = new ArrayList<>(2);
            frames.add(first.data());
            Msg m = first;
            while (m.hasMore()) {
                m = base.recv(0);
                if (m == null) {
                    break;
                }
                frames.add(m.data());
            }
            watch.heard(now);
            counters.inc(Counter.RECEIVED_TOTAL);
            onMessage(frames, now);
        }
    }

    /**
     * Every application message from the server comes after a DATA frame naming the session it was meant for. Only
     * the current session's is delivered; before WELCOME only the session being resumed is held; anything else (for
     * an earlier life of this identity, routed to this connection before the server read its HELLO) is dropped and
     * counted. docs/PROTOCOL.md, section 6.
     */
    private void onMessage(List<byte[]> frames, long now) {
        if (settings.plain) {
            if (state == ClientState.CONNECTING) {
                onPlainReady(now); // a message can only come after the handshake: its event is on its way
            }
            deliver(frames);
            return;
        }
        byte[] head0 = frames.get(0);
        if (!Command.looksLikeCommand(head0)) {
            stale(); // untagged: not sent to a session of ours
            return;
        }
        long tag = Command.sessionOfData(head0);
        if (tag > 0) {
            List<byte[]> payload = frames.subList(1, frames.size());
            if (payload.isEmpty()) {
                counters.inc(Counter.RECEIVED_MALFORMED);
                badInput.warn("malformed", now, "client {} ignored a DATA command without payload", settings.identity);
            } else if (state == ClientState.READY && tag == session) {
                deliver(payload);
            } else if (state == ClientState.CONNECTING && tag == resuming && resuming != 0) {
                if (held.size() < settings.receiveQueueCapacity) {
                    held.add(payload);
                } else {
                    counters.inc(Counter.DELIVERED_TO_CLIENT); // for this client, and dropped for want of room, as deliver() counts it
                    counters.inc(Counter.DROPPED_RECEIVE_QUEUE_FULL);
                    badInput.warn("held-full", now, "client {} dropped a message for the session it is resuming: {} already held"
                            + " before WELCOME; raise receiveQueueCapacity", settings.identity, held.size());
                }
            } else {
                stale();
            }
            return;
        }
        Command c;
        try {
            c = Command.decode(head0);
        } catch (MalformedCommandException e) {
            counters.inc(Counter.RECEIVED_MALFORMED);
            badInput.warn("malformed", now, "client {} ignored a malformed command from {}: {}", settings.identity, currentEndpoint, e.getMessage());
            return;
        }
        switch (c.type()) {
            case WELCOME:
                if (state != ClientState.CONNECTING) {
                    counters.inc(Counter.RECEIVED_MALFORMED); // a second WELCOME on one connection: ignored, counted once
                    break;
                }
                counters.inc(Counter.COMMANDS_RECEIVED);
                onWelcome(c, now);
                break;
            case HEARTBEAT:
                counters.inc(Counter.COMMANDS_RECEIVED);
                break; // heard already
            case DISCONNECT:
                counters.inc(Counter.COMMANDS_RECEIVED);
                onDisconnect(c, System.nanoTime()); // its retry-after counts from now, not from the start of this turn
                break;
            case DATA:
                stale(); // a DATA without a session: not for a session of ours
                break;
            default:
                counters.inc(Counter.RECEIVED_MALFORMED);
                badInput.warn("malformed", now, "client {} ignored a {} command: only clients send it", settings.identity, c.type());
        }
    }

    private void onWelcome(Command c, long now) {
        if (c.intervalMillis() > 0 && c.liveness() > 0) {
            watch.rules(TimeUnit.MILLISECONDS.toNanos(c.intervalMillis()), c.liveness()); // the server's rules win
        }
        boolean resumed = (c.flags() & Command.FLAG_RESUMED) != 0;
        boolean rejoin = everConnected;
        session = c.session();
        if (resumed && c.session() == resuming) {
            for (List<byte[]> m : held) {
                deliver(m); // sent to this session before WELCOME reached us: in order, once
            }
            held.clear();
        } else {
            dropHeld(Counter.RECEIVED_STALE);
        }
        if (rejoin && !settings.resume) {
            dropQueued(); // start clean: nothing queued before the rejoin is sent
        }
        everConnected = true;
        attempt = 0;
        state = ClientState.READY;
        lastJudgedAt = 0; // judged afresh from this connection on
        polledNanos = 0;
        watch.sent(now);
        counters.inc(Counter.SESSIONS);
        publish(new ClientEvent(rejoin ? ClientEvent.Type.REJOINED : ClientEvent.Type.CONNECTED, currentEndpoint, session, resumed,
                null, null, null, Instant.now()));
        flush(now);
    }

    /** Plain mode: the ZMTP handshake is done; the connection is a session of its own (numbered here, from 1). */
    private void onPlainReady(long now) {
        boolean rejoin = everConnected;
        session++;
        if (rejoin && !settings.resume) {
            dropQueued(); // start clean: nothing queued for the last connection is sent on this one
        }
        everConnected = true;
        attempt = 0;
        state = ClientState.READY;
        counters.inc(Counter.SESSIONS);
        publish(new ClientEvent(rejoin ? ClientEvent.Type.REJOINED : ClientEvent.Type.CONNECTED, currentEndpoint, session, false,
                null, null, null, Instant.now()));
        flush(now);
    }

    private void onDisconnect(Command c, long now) {
        ClientEvent.Reason reason = ClientEvent.Reason.valueOf(c.reason().name());
        Duration retryAfter = Duration.ofMillis(Math.max(0, c.retryAfterMillis()));
        publish(new ClientEvent(ClientEvent.Type.TOLD_TO_LEAVE, currentEndpoint, session, false, null, reason, retryAfter, Instant.now()));
        boolean conflict = c.reason() == Command.Reason.CONFLICT;
        if (conflict && !settings.stopOnConflict) {
            // Anyone who can reach the server can claim this routing id; that must not switch this client off for good.
            log.warn("client {}: server {} says its identity is in use by another client ({}); trying again in {}",
                    settings.identity, currentEndpoint, c.text(), retryAfter);
            lose(ClientEvent.Cause.SERVER_DISCONNECT, now, retryAfter.toNanos());
            return;
        }
        if (!c.reason().retry) {
            log.error("client {}: server {} says {} ({}); stopping: give this client an identity no other client uses",
                    settings.identity, currentEndpoint, reason, c.text());
            closeSocket();
            state = ClientState.STOPPED;
            dropQueued();
            publish(new ClientEvent(ClientEvent.Type.STOPPED, currentEndpoint, session, false, null, reason, null, Instant.now()));
            return;
        }
        log.info("client {}: server {} asked it to leave ({}: {}); back in at least {}", settings.identity, currentEndpoint, reason,
                c.text(), retryAfter);
        lose(ClientEvent.Cause.SERVER_DISCONNECT, now, retryAfter.toNanos());
    }

    /** The session or attempt failed: drop the socket and everything it held, and plan the next attempt. */
    private void lose(ClientEvent.Cause cause, long now, long atLeastNanos) {
        boolean wasReady = state == ClientState.READY;
        switch (cause) {
            case CONNECT_FAILED: counters.inc(Counter.CONNECT_FAILED); break;
            case CONNECTION_LOST: counters.inc(Counter.CONNECTION_LOST); break;
            case NO_WELCOME: counters.inc(Counter.NO_WELCOME); break;
            case SERVER_DISCONNECT: counters.inc(Counter.TOLD_TO_LEAVE); break;
            default: break; // serverSilent is counted where it is found
        }
        closeSocket();
        state = ClientState.BACKOFF;
        if (wasReady) {
            publish(new ClientEvent(ClientEvent.Type.DISCONNECTED, currentEndpoint, session, false, cause, null, null, Instant.now()));
        }
        if (wasReady && settings.failover == Failover.IN_ORDER) {
            endpointIndex = 0; // go back to the preferred endpoint first
        } else {
            endpointIndex++;
        }
        long delay;
        if (cause == ClientEvent.Cause.SERVER_DISCONNECT && atLeastNanos > 0) {
            // The server named the moment (its slot for us): keep it. It answered, so the path works: the next
            // failure backs off from the start again.
            delay = settings.backoff.toldDelayNanos(atLeastNanos, ThreadLocalRandom.current()::nextDouble);
            attempt = 0;
        } else {
            // The first retry after a working session is quick (a restart is usually short); failures back off.
            delay = Math.max(atLeastNanos, settings.backoff.delayNanos(attempt, ThreadLocalRandom.current()::nextDouble));
            attempt++;
        }
        nextAttemptAt = now + delay;
        log.debug("client {} lost {} ({}); next attempt in {} ms", settings.identity, currentEndpoint, cause,
                TimeUnit.NANOSECONDS.toMillis(delay));
    }

    /** When a connection attempt is given up: see {@link #connect}. */
    private long connectDeadline() {
        long up = current == null ? 0 : current.tcpUpAt;
        return up == 0 ? connectDeadline : up + settings.handshakeInterval.toNanos() + watch.silenceLimitNanos();
    }

    /** One connection attempt, as JeroMQ's I/O thread reports it (a late event lands on a stale attempt). */
    private static final class Attempt {
        volatile long tcpUpAt;
        /** Plain mode: the ZMTP handshake completed (set by the I/O thread). */
        volatile boolean handshaken;
        /** Loop only: when the I/O thread was last nudged for this attempt, 0 if never. */
        long nudgedAt;
    }

    private static long nextNudgeAt(Attempt a) {
        return (a.nudgedAt == 0 ? a.tcpUpAt : a.nudgedAt) + NUDGE_EVERY_NANOS;
    }

    /**
     * Makes JeroMQ 0.6.0's I/O thread walk its handles again. When a TCP connect completes in the same turn of that
     * thread as another command, the new connection's channel can be left unregistered from its selector (the
     * connecter's cancelled key is still there when the engine's handle is added), and nothing is read from it until
     * some other handle of that thread changes: the server's greeting waits in the socket, unread, until the handshake
     * limit ends the attempt (measured: 1 to 3 of 10 clients reconnecting to a router that had been stopped for a few
     * seconds lost 2 s this way). Binding and closing a throwaway socket in the same context changes a handle of that
     * very thread (one I/O thread per client), at the cost of a loopback listener that exists for a moment.
     */
    private void nudgeIoThread() {
        ZMQ.Socket probe = null;
        try {
            probe = context.createSocket(SocketType.PAIR);
            probe.setLinger(0);
            probe.bind("tcp://127.0.0.1:*");
            counters.inc(Counter.IO_NUDGES);
        } catch (RuntimeException e) {
            log.debug("client {}: nudging the I/O thread failed: {}", settings.identity, e.toString());
        } finally {
            if (probe != null) {
                context.destroySocket(probe);
            }
        }
    }

    private void closeSocket() {
        if (socket == null) {
            return;
        }
        try {
            base.setEventHook(null, 0);
        } catch (RuntimeException ignored) {
            // already closing
        }
        context.destroySocket(socket);
        socket = null;
        base = null;
        disconnects.clear();
    }

    private void stale() {
        counters.inc(Counter.RECEIVED_STALE);
    }

    /** Drops what was held before WELCOME, counted under {@code reason}. */
    private void dropHeld(Counter reason) {
        counters.add(reason, held.size());
        held.clear();
    }

    private void deliver(List<byte[]> frames) {
        counters.inc(Counter.DELIVERED_TO_CLIENT);
        Message m = new Message(new io.github.zmqliveness.Session(settings.identity, session, instance), frames, currentEndpoint);
        if (!inbound.offer(m)) {
            counters.inc(Counter.DROPPED_RECEIVE_QUEUE_FULL);
            badInput.warn("inbound-full", System.nanoTime(), "client {}: receive queue full ({} messages); dropping a message "
                    + "from {}: call receive() faster or raise receiveQueueCapacity", settings.identity, settings.receiveQueueCapacity,
                    currentEndpoint);
        }
    }

    // ------------------------------------------------------------------ outbound

    private void flush(long now) {
        while (socket != null && state == ClientState.READY) {
            Outbox.Out o = outbox.head != null ? outbox.head : outbox.queue.poll();
            if (o == null) {
                return;
            }
            outbox.head = null;
            if (o.expiresAt <= now) {
                outbox.release(o);
                counters.inc(Counter.DROPPED_EXPIRED);
                continue;
            }
            if (!write(o)) {
                outbox.head = o;
                return;
            }
            outbox.release(o);
            counters.inc(Counter.MESSAGES_SENT);
        }
    }

    private boolean write(Outbox.Out o) {
        byte[][] frames = o.frames;
        int flags = ZMQ.DONTWAIT;
        if (!settings.plain && Command.looksLikeCommand(frames[0])) {
            if (!base.send(new Msg(Command.dataFrame()), ZMQ.SNDMORE | flags)) {
                return false;
            }
            flags = 0;
        }
        for (int i = 0; i < frames.length; i++) {
            boolean last = i == frames.length - 1;
            if (!base.send(new Msg(frames[i]), (last ? 0 : ZMQ.SNDMORE) | (i == 0 ? flags : 0))) {
                return false; // only the first frame can be refused
            }
        }
        return true;
    }

    private void writeNow(byte[] command) {
        if (base != null) {
            base.send(new Msg(command), ZMQ.DONTWAIT);
        }
    }

    /** Drops everything queued: messages meant for a session that is over. */
    private void dropQueued() {
        if (outbox.head != null) {
            outbox.release(outbox.head);
            outbox.head = null;
            counters.inc(Counter.DROPPED_STALE_SESSION);
        }
        Outbox.Out o;
        while ((o = outbox.queue.poll()) != null) {
            outbox.release(o);
            counters.inc(Counter.DROPPED_STALE_SESSION);
        }
    }

    private void expireQueued(long now) {
        if (outbox.head != null && outbox.head.expiresAt <= now) {
            outbox.release(outbox.head);
            outbox.head = null;
            counters.inc(Counter.DROPPED_EXPIRED);
        }
        Outbox.Out first = outbox.queue.peek();
        while (first != null && first.expiresAt <= now) {
            if (outbox.queue.remove(first)) {
                outbox.release(first);
                counters.inc(Counter.DROPPED_EXPIRED);
            }
            first = outbox.queue.peek();
        }
    }

    private void publish(ClientEvent e) {
        events.publish(e);
    }
}
