package io.github.zmqliveness;

import io.github.zmqliveness.liveness.Backoff;
import io.github.zmqliveness.transport.ClientLoop;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The companion client of {@link LivenessRouter}: a DEALER that says who it is, heartbeats,
 * notices a dead or frozen server, reconnects with backoff and full jitter (to the next endpoint
 * if there are several), and rejoins under the same identity.
 *
 * <p><b>Sessions.</b> Each process start is a new instance (a random 16-byte id). After a restart,
 * nothing the server queued for the previous instance is delivered. After a brief disconnect of
 * the same instance, {@link Builder#resume(boolean)} chooses: resume (default; what the server parked
 * for this client, and what this client queued while away, is delivered in order, within the
 * queue limits and time to live) or start clean (both are dropped and counted).
 *
 * <p><b>Threading.</b> Thread-safe. One thread ({@code zmq-liveness-client-<identity>}) owns the socket;
 * {@link #send} never blocks and messages are written in the order it accepted them. Listener
 * calls run on {@code zmq-liveness-client-events-<identity>}, in order.
 *
 * <pre>{@code
 * try (DealerClient client = DealerClient.builder()
 *         .connect("tcp://server-a:5555", "tcp://server-b:5555")
 *         .listener(e -> log.info("{}", e))
 *         .build()) {
 *     client.send("hello".getBytes());
 *     Message reply = client.receive(Duration.ofSeconds(1));
 * }
 * }</pre>
 */
public final class DealerClient implements AutoCloseable {
    private final ClientLoop loop;
    private final Identity identity;

    private DealerClient(ClientLoop.Settings settings, Identity identity) {
        this.identity = identity;
        this.loop = new ClientLoop(settings);
        loop.start();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Identity identity() {
        return identity;
    }

    /**
     * Queues a message for the server; never blocks. The frame arrays are not copied.
     *
     * @return {@link SendResult#QUEUED} while a session is up, {@link SendResult#PARKED} while
     *     reconnecting (held within the limits and time to live), otherwise why it was refused;
     *     {@link SendResult#QUARANTINED} once the client has stopped because its identity is in use elsewhere
     */
    public SendResult send(byte[]... frames) {
        return loop.send(frames, null);
    }

    /** As {@link #send(byte[]...)}, dropping the message if it is not written within {@code ttl}. */
    public SendResult send(Duration ttl, byte[]... frames) {
        return loop.send(frames, Objects.requireNonNull(ttl, "ttl"));
    }

    /**
     * The next message from the server, waiting at most {@code timeout}; null if none. The
     * message's identity is this client's, its address the server endpoint it came from.
     */
    public Message receive(Duration timeout) {
        try {
            return loop.receive(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Whether a session is up, being set up, waiting to retry, stopped or closed. */
    public ClientState state() {
        return loop.state();
    }

    /** The endpoint of the current or last attempt. */
    public String endpoint() {
        return loop.endpoint();
    }

    /** The session number of the current or last session (0 before the first). */
    public long session() {
        return loop.session();
    }

    /**
     * Counters since start, by name: {@code sessions}, {@code reconnects}, {@code heartbeatsSent},
     * {@code messagesSent}, {@code messagesReceived}, the {@code dropped...} counts, {@code receivedMalformed},
     * and why connections or attempts ended: {@code connectFailed} (refused or unreachable),
     * {@code connectionLost} (closed by the network or the server, during the handshake or later),
     * {@code noWelcome} (no TCP connection or no WELCOME within its bound), {@code serverSilent}
     * (heard nothing for the liveness bound), {@code toldToLeave} (a DISCONNECT from the server).
     * A fresh map each call; safe from any thread.
     */
    public Map<String, Long> counters() {
        return loop.counters();
    }

    /** Says BYE if a session is up, then releases the thread and the socket within the close timeout. Idempotent. */
    @Override
    public void close() {
        loop.close();
    }

    /** Builds a {@link DealerClient}. Defaults fit production; only the endpoint is required. */
    public static final class Builder {
        /** Clients of this JVM that took the default identity (see {@link #identity(String)}). */
        private static final java.util.concurrent.atomic.AtomicInteger DEFAULT_IDENTITIES = new java.util.concurrent.atomic.AtomicInteger();
        private Identity identity;
        private final List<String> endpoints = new ArrayList<>();
        private Failover failover = Failover.IN_ORDER;
        private Duration heartbeatInterval = Duration.ofSeconds(1);
        private int liveness = 3;
        private Duration transportHeartbeatInterval;
        private Duration transportHeartbeatTimeout;
        private Duration backoffInitial = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(10);
        private double backoffMultiplier = 2.0;
        private Duration handshakeInterval = Duration.ofSeconds(2);
        private boolean resume = true;
        private int maxQueuedMessages = 1000;
        private long maxQueuedBytes = 16 << 20;
        private Duration messageTtl = Duration.ofSeconds(30);
        private int maxMessageSize = 16 << 20;
        private int receiveQueueCapacity = 10_000;
        private Duration closeTimeout = Duration.ofSeconds(5);
        private boolean stopOnConflict;
        private ClientListener listener;
        private byte[] curveServerKey;
        private CurveKeyPair curveKeys;
        private boolean plain;

        private Builder() {
        }

        /**
         * For a server that is not a {@link LivenessRouter} (a raw ROUTER in any language), so that clients can be
         * moved to this library before their server: the client sends no command of its own (no HELLO, heartbeat or
         * goodbye) and reads every message as the application's. It is READY once the ZeroMQ handshake is done, finds
         * a dead or frozen server through ZMTP heartbeats ({@link #transportHeartbeat}: by default a PING every
         * {@code max(1, liveness / 2)} heartbeat intervals, dead after half that without an answer; the server needs
         * no setting, every ZeroMQ peer answers PING), and reconnects with the same backoff, jitter and identity. Each
         * connection is a session of its own, numbered by the client; with {@link #resume(boolean) resume(false)} what
         * was queued for the last connection is dropped, not sent on the next. Off by default. Against a
         * {@link LivenessRouter} it works too, as a plain DEALER does.
         */
        public Builder plain() {
            this.plain = true;
            return this;
        }

        /**
         * Connects with CurveZMQ (encrypted, and authenticated by key), to a router built with
         * {@link LivenessRouter.Builder#curve(String, KeyAuthorizer)}. Keys as 40 Z85 characters. Such a router serves
         * this client under the identity its key is authorized for, which should be the one given to
         * {@link #identity(String)}. A router that does not know the key refuses every handshake: the client keeps
         * retrying with its backoff and counts {@code connectFailed} or {@code noWelcome}, and the router logs the key.
         *
         * @throws IllegalArgumentException if a key is not 40 Z85 characters, or the public key is not the secret key's
         */
        public Builder curve(String serverPublicKey, String clientPublicKey, String clientSecretKey) {
            byte[] server = CurveKeyPair.decode(serverPublicKey, "server public key");
            byte[] pub = CurveKeyPair.decode(clientPublicKey, "client public key");
            CurveKeyPair pair = CurveKeyPair.fromSecret(clientSecretKey);
            if (!java.util.Arrays.equals(pair.publicKeyBytes(), pub)) {
                throw new IllegalArgumentException("the client public key " + clientPublicKey + " is not the one of the secret key given ("
                        + pair.publicKey() + "): pass the two halves of one pair, as keygen printed them");
            }
            return curve(server, pair);
        }

        /** As {@link #curve(String, String, String)}, with the server's 32-byte public key and this client's key pair. */
        public Builder curve(byte[] serverPublicKey, CurveKeyPair clientKeys) {
            this.curveServerKey = CurveKeyPair.checkLength(serverPublicKey, "server public key").clone();
            this.curveKeys = Objects.requireNonNull(clientKeys, "client keys");
            return this;
        }

        /**
         * The routing identity. Default: {@code <host>/<pid>-<n>}, this host's name, the process id and a count of the
         * clients of this JVM that took the default, so that two processes on one host, or two clients in one process,
         * never share an identity (they would stop each other as a conflict). A restarted process is then a new
         * identity, as it is a new instance anyway (its old one is evicted for silence); set an identity of your own when
         * the server must know the client across restarts.
         */
        public Builder identity(String identity) {
            this.identity = Identity.of(identity);
            return this;
        }

        public Builder identity(Identity identity) {
            this.identity = Objects.requireNonNull(identity, "identity");
            return this;
        }

        /**
         * One or more server endpoints, tried in the given order. Required.
         *
         * @throws IllegalArgumentException for an endpoint that is not {@code tcp://host:port}, {@code ipc://path} or
         *     {@code inproc://name} (ZeroMQ would only fail later, on the client's own thread)
         */
        public Builder connect(String... endpoints) {
            for (String e : endpoints) {
                this.endpoints.add(checkEndpoint(e));
            }
            return this;
        }

        static String checkEndpoint(String endpoint) {
            Objects.requireNonNull(endpoint, "endpoint");
            int sep = endpoint.indexOf("://");
            String scheme = sep < 0 ? "" : endpoint.substring(0, sep);
            String rest = sep < 0 ? "" : endpoint.substring(sep + 3);
            boolean ok;
            if ("tcp".equals(scheme)) {
                int colon = rest.lastIndexOf(':');
                String host = colon < 0 ? "" : rest.substring(0, colon);
                String port = colon < 0 ? "" : rest.substring(colon + 1);
                ok = !host.isEmpty() && port.matches("[0-9]{1,5}") && Integer.parseInt(port) >= 1 && Integer.parseInt(port) <= 65535;
            } else {
                ok = ("ipc".equals(scheme) || "inproc".equals(scheme)) && !rest.isEmpty();
            }
            if (!ok) {
                throw new IllegalArgumentException("endpoint '" + endpoint + "' is not tcp://host:port (port 1-65535), "
                        + "ipc://path or inproc://name; for example connect(\"tcp://server.example:5555\")");
            }
            return endpoint;
        }

        /** How the next endpoint is chosen (default {@link Failover#IN_ORDER}). */
        public Builder failover(Failover failover) {
            this.failover = Objects.requireNonNull(failover, "failover");
            return this;
        }

        /** Heartbeat interval and liveness used until the server's WELCOME says otherwise (default 1 s x 3). */
        public Builder heartbeat(Duration interval, int liveness) {
            this.heartbeatInterval = Checks.positive(interval, "heartbeat interval");
            this.liveness = Checks.liveness(liveness);
            return this;
        }

        /**
         * The ZMTP PING interval and the time to wait for traffic after each PING, on the client's
         * connection (default: max(1, liveness / 2) heartbeat intervals and half of that, as the router). A longer timeout tolerates a
         * busy server or machine better; it must stay shorter than the interval (a JeroMQ 0.6.0 timer bug).
         */
        public Builder transportHeartbeat(Duration interval, Duration timeout) {
            Checks.transportHeartbeat(interval, timeout);
            this.transportHeartbeatInterval = interval;
            this.transportHeartbeatTimeout = timeout;
            return this;
        }

        /** Reconnect backoff: attempt n waits a random time in [0, min(max, initial x multiplier^n)] (default 100 ms, 10 s, 2). */
        public Builder backoff(Duration initial, Duration max, double multiplier) {
            new Backoff(initial, max, multiplier); // validates
            this.backoffInitial = initial;
            this.backoffMax = max;
            this.backoffMultiplier = multiplier;
            return this;
        }

        /**
         * Time allowed for the ZMTP handshake once the TCP connection is up (default 2 s). Two limits pull
         * in opposite directions. JeroMQ 0.6.0 now and then leaves a fresh connection stuck in its handshake
         * (a few in 100 on loopback): the timer is what ends it, so a long one costs each such client that
         * long. A server in a reconnect storm leaves new connections in its accept queue for a while: a
         * client that gives up sooner wastes the server's work and joins the end of the queue again, and
         * with thousands doing so nobody gets in (measured: at 1 s, 2,000 clients behind a restarted router
         * made no progress for 20 to 56 s in 3 of 5 storms; BENCHMARKS.md). Keep it above the server's
         * accept backlog divided by the connections it accepts per second. The TCP connect itself has its
         * own bound, the liveness bound (at least 2 s), so a black-holed server is left quickly whatever
         * this is.
         */
        public Builder handshakeInterval(Duration interval) {
            this.handshakeInterval = Checks.positive(interval, "handshake interval");
            return this;
        }

        /** After a brief disconnect, resume the session (default) or start clean. */
        public Builder resume(boolean resume) {
            this.resume = resume;
            return this;
        }

        /** Limits of what is queued for the server (default 1,000 messages, 16 MiB). */
        public Builder queueLimits(int messages, long bytes) {
            this.maxQueuedMessages = Checks.positive(messages, "queue limit (messages)");
            this.maxQueuedBytes = Checks.positive(bytes, "queue limit (bytes)");
            return this;
        }

        /** How long a queued message may wait for a session (default 30 s). */
        public Builder messageTtl(Duration ttl) {
            this.messageTtl = Checks.positive(ttl, "message time to live");
            return this;
        }

        /** The largest message sent or received, in bytes (default 16 MiB); larger sends return TOO_LARGE. */
        public Builder maxMessageSize(int bytes) {
            Checks.positive(bytes, "max message size");
            this.maxMessageSize = bytes;
            return this;
        }

        /** Messages {@link DealerClient#receive} can hold (default 10,000); beyond it they are dropped, counted and logged. */
        public Builder receiveQueueCapacity(int messages) {
            Checks.positive(messages, "receive queue capacity");
            this.receiveQueueCapacity = messages;
            return this;
        }

        /** The bound on {@link DealerClient#close()} (default 5 s). */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = Checks.positive(timeout, "close timeout");
            return this;
        }

        /**
         * Whether the client stops for good when the server says its identity is in use by another client
         * (DISCONNECT CONFLICT). Default false: it waits the retry-after the server gives (the quarantine, or until
         * the client holding the identity would be given up) and tries again, because anyone who can reach the server
         * can claim an identity, and that must not switch a client off. True restores stopping, for fleets where a
         * duplicate identity is a configuration error that an operator must fix.
         */
        public Builder stopOnConflict(boolean stop) {
            this.stopOnConflict = stop;
            return this;
        }

        /** Receives the client's events (see {@link ClientListener} for its thread). Optional. */
        public Builder listener(ClientListener listener) {
            this.listener = listener;
            return this;
        }

        /** Starts the client; it connects in the background. */
        public DealerClient build() {
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("no endpoint: call connect(\"tcp://host:5555\")");
            }
            Identity id = identity != null ? identity : defaultIdentity(hostName(), ProcessHandle.current().pid(),
                    DEFAULT_IDENTITIES.incrementAndGet());
            Duration zmtpInterval = transportHeartbeatInterval != null ? transportHeartbeatInterval
                    : LivenessRouter.defaultTransportInterval(heartbeatInterval, liveness);
            Duration zmtpTimeout = transportHeartbeatTimeout != null ? transportHeartbeatTimeout : zmtpInterval.dividedBy(2);
            ClientLoop.Settings settings = new ClientLoop.Settings(id, endpoints, failover, heartbeatInterval, liveness, zmtpInterval,
                    zmtpTimeout, new Backoff(backoffInitial, backoffMax, backoffMultiplier), handshakeInterval, resume, maxQueuedMessages,
                    maxQueuedBytes, messageTtl, maxMessageSize, receiveQueueCapacity, closeTimeout, stopOnConflict, listener);
            if (curveKeys != null) {
                settings.curve(curveServerKey, curveKeys.publicKeyBytes(), curveKeys.secretKeyBytes());
            }
            if (plain) {
                settings.plain();
            }
            return new DealerClient(settings, id);
        }

        /** {@code <host>/<pid>-<n>}, the host name cut so that the whole fits in 255 bytes of UTF-8. */
        static Identity defaultIdentity(String host, long pid, int n) {
            String suffix = "/" + pid + "-" + n;
            String h = host;
            while ((h + suffix).getBytes(java.nio.charset.StandardCharsets.UTF_8).length > Identity.MAX_LENGTH) {
                h = h.substring(0, h.length() - 1);
            }
            return Identity.of(h + suffix);
        }

        private static String hostName() {
            try {
                String name = InetAddress.getLocalHost().getCanonicalHostName();
                if (name != null && !name.isEmpty()) {
                    return name;
                }
            } catch (UnknownHostException e) {
                // fall through
            }
            String env = System.getenv("HOSTNAME");
            if (env != null && !env.isEmpty()) {
                return env;
            }
            throw new IllegalStateException("cannot find this host's name; set the identity explicitly with identity(...)");
        }

    }
}
