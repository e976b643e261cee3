package io.github.zmqliveness.transport;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerState;
import io.github.zmqliveness.Session;
import io.github.zmqliveness.liveness.PeerRecord;
import io.github.zmqliveness.liveness.PeerTable;
import io.github.zmqliveness.liveness.TokenBucket;
import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.protocol.MalformedCommandException;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * What the router does with each message a peer sends: a plain DEALER's data goes to the inbox under the session of
 * its connection; a protocol client's HELLO passes admission (join pacing) and starts or resumes its session, its
 * commands (HEARTBEAT, BYE, DATA) are answered, and what a replaced connection left behind is read under the session
 * it carried. Who joins, takes over or is refused is {@link Membership}'s. Loop thread only.
 */
final class ProtocolServer {
    private final RouterConfig config;
    private final PeerTable table;
    private final Sessions sessions;
    private final Outboxes outboxes;
    private final Connections connections;
    private final Membership membership;
    private final Inbox inbox;
    private final Counters.Owner counters;
    private final RateLimitedLog badInput;
    private final BiConsumer<Identity, byte[]> sendControl;
    private final Membership.ConnectionSender sendToConnection;
    private final long evictionGraceNanos;
    private final TokenBucket admissions;
    private final Random jitter = new Random();
    private long nextAdmissionSlot;
    /** The latest admission slot a deferred client is given: 60 s from now. */
    static final long PACING_HORIZON_NANOS = TimeUnit.SECONDS.toNanos(60);

    ProtocolServer(RouterConfig config, PeerTable table, Sessions sessions, Outboxes outboxes, Connections connections,
            Membership membership, Inbox inbox, Counters.Owner counters, RateLimitedLog badInput,
            BiConsumer<Identity, byte[]> sendControl, Membership.ConnectionSender sendToConnection, long evictionGraceNanos) {
        this.config = config;
        this.table = table;
        this.sessions = sessions;
        this.outboxes = outboxes;
        this.connections = connections;
        this.membership = membership;
        this.inbox = inbox;
        this.counters = counters;
        this.badInput = badInput;
        this.sendControl = sendControl;
        this.sendToConnection = sendToConnection;
        this.evictionGraceNanos = evictionGraceNanos;
        this.admissions = config.maxJoinsPerSecond > 0
                ? new TokenBucket(config.maxJoinsPerSecond, Math.max(1, config.maxJoinsPerSecond)) : null;
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

    void onMessage(byte[] routingId, String key, List<byte[]> frames) {
        long now = System.nanoTime();
        Conn conn = connections.at(key);
        if (conn != null && !conn.heard) {
            connections.heard(conn);
        }
        Identity identity = identityOf(routingId, conn);
        if (identity.isGenerated() && conn != null && conn.identity != null && !conn.identity.equals(identity)) {
            // Left in a pipe that ROUTER_HANDOVER renamed: it came from conn.identity's old connection, and belongs to
            // the session that connection carried. It is read like any message of that connection.
            counters.inc(Counter.HANDOVER_LEFTOVERS);
            onLeftover(conn, frames, now);
            return;
        }
        if (conn != null && conn.shutting) {
            if (conn.replaced) {
                onLeftover(conn, frames, now);
            } else {
                counters.inc(Counter.RECEIVED_AFTER_EVICTION);
            }
            return;
        }
        if (identity.isGenerated()) {
            counters.inc(Counter.RECEIVED_ANONYMOUS);
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
        PeerRecord r = membership.arrive(identity, known, key, conn, now, hello,
                known != null && helloCommand != null && sessions.sameInstance(identity, helloCommand));
        if (r == null) {
            return;
        }
        if (hello) {
            onHello(r, helloCommand, frames, conn, now);
            return;
        }
        deliver(bindSession(conn, identity), frames, conn != null ? conn.address() : Connections.peerOf(key), now);
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
            counters.inc(Counter.RECEIVED_AFTER_EVICTION); // never identified: nothing to attribute it to
            return;
        }
        byte[] head = frames.get(0);
        if (session.speaksProtocol() && Command.looksLikeCommand(head)) {
            Command c;
            try {
                c = Command.decode(head);
            } catch (MalformedCommandException e) {
                counters.inc(Counter.RECEIVED_MALFORMED);
                badInput.warn("malformed", now, "ignored a malformed command from {}'s old connection {}: {}", session,
                        conn.address(), e.getMessage());
                return;
            }
            if (c.type() != Command.Type.DATA) {
                counters.inc(Counter.COMMANDS_RECEIVED); // a heartbeat or goodbye of a connection already replaced
                return;
            }
            frames = payloadOf(frames, session, now);
            if (frames == null) {
                return;
            }
        }
        deliver(session, frames, conn.address(), now);
    }

    /** The application frames after a DATA command, or null (counted, logged) if there are none. */
    private List<byte[]> payloadOf(List<byte[]> frames, Object from, long now) {
        if (frames.size() < 2) {
            counters.inc(Counter.RECEIVED_MALFORMED);
            badInput.warn("malformed", now, "ignored a DATA command without payload from {}", from);
            return null;
        }
        return frames.subList(1, frames.size());
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
        counters.inc(Counter.JOINS_DEFERRED);
        // Give each deferred client the next free admission slot, so the herd comes back at the admission
        // rate instead of all at once again; a little jitter keeps equal slots apart.
        long slotNanos = (long) (1e9 / config.maxJoinsPerSecond);
        nextAdmissionSlot = Math.max(nextAdmissionSlot, now + admissions.nanosUntilNext(now)) + slotNanos;
        // A flood of HELLOs must not push the slots, and so the wait every deferred client obeys, out without bound:
        // beyond the horizon the herd is only spread over the last slot.
        nextAdmissionSlot = Math.min(nextAdmissionSlot, now + PACING_HORIZON_NANOS);
        long retry = nextAdmissionSlot - now + (long) (jitter.nextDouble() * slotNanos);
        sendToConnection.send(identity, conn, Command.disconnect(Command.Reason.TRY_LATER, TimeUnit.NANOSECONDS.toMillis(retry),
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
        counters.inc(Counter.HELLOS_RECEIVED);
        counters.inc(Counter.COMMANDS_RECEIVED);
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

    private void onCommand(PeerRecord r, byte[] head, List<byte[]> frames, String key, long now) {
        Command c;
        try {
            c = Command.decode(head);
        } catch (MalformedCommandException e) {
            table.onMessage(r, key, now); // still proof of life
            counters.inc(Counter.RECEIVED_MALFORMED);
            badInput.warn("malformed", now, "ignored a malformed command from {} at {}: {}", r.identity(), Connections.peerOf(key),
                    e.getMessage());
            return;
        }
        table.onMessage(r, key, now);
        switch (c.type()) {
            case HEARTBEAT:
                counters.inc(Counter.HEARTBEATS_RECEIVED);
                counters.inc(Counter.COMMANDS_RECEIVED);
                sendControl.accept(r.identity(), Command.heartbeatFrame());
                break;
            case BYE:
                counters.inc(Counter.COMMANDS_RECEIVED);
                table.remove(r);
                sessions.end(r.identity(), key, EvictReason.BYE, Counter.DROPPED_PEER_GONE);
                counters.inc(Counter.LEFT);
                membership.publish(PeerEvent.Type.LEFT, r, null, EvictReason.BYE);
                break;
            case DATA:
                List<byte[]> payload = payloadOf(frames, r.identity(), now);
                if (payload != null) {
                    deliver(sessions.current(r.identity()), payload, Connections.peerOf(key), now);
                }
                break;
            default:
                counters.inc(Counter.RECEIVED_MALFORMED);
                badInput.warn("malformed", now, "ignored a {} command from client {}: only servers send it", c.type(), r.identity());
        }
    }

    /**
     * Hands a message to the inbox, unless it is over the size limit (then it is counted and logged). One frame is never
     * over it: the socket's ZMQ_MAXMSGSIZE, the same limit, refused it already.
     */
    private void deliver(Session session, List<byte[]> frames, String address, long now) {
        if (frames.size() > 1) {
            long size = Frames.size(frames);
            if (size > config.maxMessageSize) {
                counters.inc(Counter.RECEIVED_TOO_LARGE);
                badInput.warn("too-large", now, "dropped a {}-byte message from {} at {}: over the {}-byte limit (maxMessageSize)",
                        size, session, address, config.maxMessageSize);
                return;
            }
        }
        inbox.deliver(new Message(session, frames, address));
    }
}
