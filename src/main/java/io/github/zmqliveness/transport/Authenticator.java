package io.github.zmqliveness.transport;

import io.github.zmqliveness.CurveKeyPair;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.KeyAuthorizer;
import io.github.zmqliveness.RefusalReason;
import org.slf4j.Logger;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * The router's ZAP handler (RFC 27) when it binds identities to CurveZMQ keys. For each CURVE handshake it asks the
 * {@link KeyAuthorizer} about the client's key: an unknown key is refused (status 400) and the handshake fails. An
 * allowed one gets a <b>routing id of the router's choosing</b>, 0x00 and 16 random bytes, through the reply's
 * {@code Identity} property: JeroMQ applies it after the client's own (it reads the ZAP reply after the client's
 * metadata), so the routing id a client claims never names its pipe, and ROUTER_HANDOVER never hands an identity to a
 * newcomer. The loop then serves the connection under its key's identity ({@link Grant}); the reply's
 * {@value #CONNECTION_PROPERTY} property, which every message of the connection carries, says which grant it is.
 *
 * <p>That order holds only if the reply is not there yet when JeroMQ's I/O thread looks for it right after writing the
 * request. Answered at once, the reply was there in most handshakes (writing the request wakes this thread, which can
 * take the core from the I/O thread right then), so replies are held back {@value #REPLY_DELAY_MILLIS} ms. Under heavy
 * load the I/O thread can still be kept off its core longer than that (a libzmq test saw it while a fuzzer ran beside
 * it): the client's routing id wins, the loop sees a routing id it did not give, counts it
 * ({@code refusedNotAuthorized}) and shuts the connection, and the client reconnects. Nothing is ever routed to a
 * routing id the router did not give.
 *
 * <p>Runs on its own thread, a ROUTER socket on {@code inproc://zeromq.zap.01} of the router's context.
 */
final class Authenticator implements Runnable {
    /** Message metadata property naming the connection's grant (hex of its routing id's random bytes). */
    static final String CONNECTION_PROPERTY = "X-Liveness-Connection";
    private static final int ROUTING_ID_RANDOM_BYTES = 16;
    /** How long a reply is held back (see run()). */
    static final int REPLY_DELAY_MILLIS = 10;
    private static final long REPLY_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(REPLY_DELAY_MILLIS);

    /** What a handshake was granted: the routing id it was given and the identity it is served under. */
    static final class Grant {
        final byte[] routingId;
        final byte[] publicKey;
        /** The identities the key may use; the first is the one a connection is served under unless its HELLO names another. */
        final List<Identity> identities;
        final long grantedAt;
        /** The identity the connection is served under, fixed at its first message (loop thread only); null before. */
        Identity served;
        /** Set by the loop once a message of the connection was read (never expired then). */
        volatile boolean used;

        Grant(byte[] routingId, byte[] publicKey, List<Identity> identities, long grantedAt) {
            this.routingId = routingId;
            this.publicKey = publicKey;
            this.identities = identities;
            this.grantedAt = grantedAt;
        }

        String key() {
            return CurveKeyPair.encode(publicKey);
        }
    }

    /** A handshake refused here, for the loop to publish. */
    static final class Refusal {
        final RefusalReason reason;
        final String host;

        Refusal(RefusalReason reason, String host) {
            this.reason = reason;
            this.host = host;
        }
    }

    private final ZContext context;
    private final KeyAuthorizer authorizer;
    private final Counters counters;
    private final Logger log;
    private final RateLimitedLog rateLimited;
    private final Runnable wake;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Grant> grants = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Refusal> refusals = new ConcurrentLinkedQueue<>();
    private final java.util.concurrent.CountDownLatch bound = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean running = true;
    private volatile RuntimeException bindFailure;
    private Thread thread;

    Authenticator(ZContext context, KeyAuthorizer authorizer, Counters counters, Logger log, RateLimitedLog rateLimited, Runnable wake) {
        this.context = context;
        this.authorizer = authorizer;
        this.counters = counters;
        this.log = log;
        this.rateLimited = rateLimited;
        this.wake = wake;
    }

    /** Starts the thread and returns once its socket is bound (before the router binds, so no handshake misses it). */
    void start(String threadName) throws InterruptedException {
        thread = new Thread(this, threadName);
        thread.setDaemon(true);
        thread.start();
        bound.await();
        if (bindFailure != null) {
            throw bindFailure;
        }
    }

    /** Stops the thread; before the context is closed. */
    void stop() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        }
    }

    /** The grant a message's {@value #CONNECTION_PROPERTY} names, or null. */
    Grant grant(String connection) {
        return connection == null ? null : grants.get(connection);
    }

    /** Forgets a grant whose connection is gone. */
    void forget(Grant g) {
        grants.remove(hex(g.routingId));
    }

    /** Every grant (the loop re-checks them when the authorizer's keys change). */
    Iterable<Grant> grants() {
        return grants.values();
    }

    /** Forgets grants never used within {@code maxAgeNanos} (handshakes that failed after ZAP, or never sent). */
    void expireUnused(long now, long maxAgeNanos) {
        grants.values().removeIf(g -> !g.used && now - g.grantedAt > maxAgeNanos);
    }

    Refusal nextRefusal() {
        return refusals.poll();
    }

    @Override
    public void run() {
        ZMQ.Socket zap;
        try {
            zap = context.createSocket(SocketType.ROUTER);
            zap.setLinger(0);
            zap.bind("inproc://zeromq.zap.01");
        } catch (ZMQException e) {
            bindFailure = new IllegalStateException("cannot start the CURVE authenticator: " + e.getMessage(), e);
            bound.countDown();
            return;
        }
        bound.countDown();
        // Replies wait REPLY_DELAY each, in the order they were made: the first is always the next due.
        java.util.ArrayDeque<PendingReply> pending = new java.util.ArrayDeque<>();
        try {
            while (running && !Thread.currentThread().isInterrupted()) {
                long now = System.nanoTime();
                while (!pending.isEmpty() && now - pending.peekFirst().dueAt >= 0) {
                    send(zap, pending.pollFirst().frames);
                }
                zap.setReceiveTimeOut(pending.isEmpty() ? 100
                        : (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(pending.peekFirst().dueAt - now)));
                byte[] peer;
                try {
                    peer = zap.recv(0);
                } catch (ZMQException e) {
                    break; // context closing
                }
                if (peer == null) {
                    continue; // timeout: replies due, or check running
                }
                byte[][] frames = new byte[9][];
                frames[0] = peer;
                int n = 1;
                while (zap.hasReceiveMore() && n < frames.length) {
                    frames[n++] = zap.recv(0);
                }
                while (zap.hasReceiveMore()) {
                    zap.recv(0); // more frames than RFC 27 has: ignored
                }
                // frames: peer, empty delimiter, then the 7 of RFC 27 (version ... credentials)
                byte[][] request = java.util.Arrays.copyOfRange(frames, 2, 9);
                byte[][] reply = answer(request, Math.max(0, n - 2));
                byte[][] envelope = new byte[2 + reply.length][];
                envelope[0] = peer;
                envelope[1] = new byte[0];
                System.arraycopy(reply, 0, envelope, 2, reply.length);
                // Never answer at once: JeroMQ's I/O thread reads a ZAP reply right after writing the request, and one
                // that is there already would be applied before the client's own metadata, whose routing id would win.
                pending.addLast(new PendingReply(envelope, System.nanoTime() + REPLY_DELAY_NANOS));
            }
        } finally {
            zap.close();
        }
    }

    /** A reply made and held back until {@code dueAt} (see run()). */
    private static final class PendingReply {
        final byte[][] frames;
        final long dueAt;

        PendingReply(byte[][] frames, long dueAt) {
            this.frames = frames;
            this.dueAt = dueAt;
        }
    }

    private static void send(ZMQ.Socket zap, byte[][] frames) {
        for (int i = 0; i < frames.length; i++) {
            zap.send(frames[i], i < frames.length - 1 ? ZMQ.SNDMORE : 0);
        }
    }

    /** The reply frames (version, request id, status, text, user id, metadata) to a request of {@code frames} frames. */
    private byte[][] answer(byte[][] request, int frames) {
        long now = System.nanoTime();
        byte[] requestId = frames > 1 ? request[1] : new byte[0];
        String host = frames > 3 ? new String(request[3], StandardCharsets.UTF_8) : "?";
        String mechanism = frames > 5 ? new String(request[5], StandardCharsets.UTF_8) : "";
        if (frames < 7 || !"CURVE".equals(mechanism) || request[6] == null || request[6].length != CurveKeyPair.KEY_BYTES) {
            // Only CURVE reaches here: the socket is a CURVE server and refuses other mechanisms in the greeting.
            refusals.add(new Refusal(RefusalReason.HANDSHAKE_FAILED, host));
            wake.run();
            return reply(requestId, "400", "CURVE required", "", null);
        }
        byte[] key = request[6];
        List<Identity> ids;
        try {
            ids = authorizer.identities(key.clone());
        } catch (RuntimeException e) {
            counters.inc(Counter.AUTHORIZER_ERRORS);
            rateLimited.warn("authorizer", now, "the key authorizer threw {} for key {} from {}; the key is refused", e,
                    CurveKeyPair.encode(key), host);
            ids = null;
        }
        if (ids == null || ids.isEmpty() || ids.get(0) == null) {
            counters.inc(Counter.REFUSED_UNKNOWN_KEY);
            rateLimited.warn("unknown-key", now, "refused a CURVE handshake from {}: key {} is not authorized for any identity",
                    host, CurveKeyPair.encode(key));
            refusals.add(new Refusal(RefusalReason.UNKNOWN_KEY, host));
            wake.run();
            return reply(requestId, "400", "key not authorized", "", null);
        }
        byte[] routingId = new byte[1 + ROUTING_ID_RANDOM_BYTES];
        random.nextBytes(routingId);
        routingId[0] = 0;
        Grant g = new Grant(routingId, key.clone(), List.copyOf(ids), now);
        String name = hex(routingId);
        grants.put(name, g);
        counters.inc(Counter.KEYS_ACCEPTED);
        if (log.isDebugEnabled()) {
            log.debug("key {} from {} accepted for {}", g.key(), host, g.identities);
        }
        return reply(requestId, "200", "OK", g.key(), metadata(routingId, name));
    }

    private static byte[][] reply(byte[] requestId, String status, String text, String userId, byte[] metadata) {
        return new byte[][] {"1.0".getBytes(StandardCharsets.US_ASCII), requestId, status.getBytes(StandardCharsets.US_ASCII),
                text.getBytes(StandardCharsets.UTF_8), userId.getBytes(StandardCharsets.US_ASCII), metadata == null ? new byte[0] : metadata};
    }

    /** ZMTP metadata: the routing id as {@code Identity}, and the grant's name. */
    private static byte[] metadata(byte[] routingId, String name) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        property(out, "Identity", routingId);
        property(out, CONNECTION_PROPERTY, name.getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static void property(ByteArrayOutputStream out, String name, byte[] value) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        out.write(n.length);
        out.write(n, 0, n.length);
        out.write(value.length >>> 24);
        out.write(value.length >>> 16);
        out.write(value.length >>> 8);
        out.write(value.length);
        out.write(value, 0, value.length);
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
        }
        return sb.toString();
    }
}
