package io.github.zmqliveness.transport;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerSnapshot;
import io.github.zmqliveness.PeerState;
import io.github.zmqliveness.Session;
import io.github.zmqliveness.liveness.PeerRecord;
import io.github.zmqliveness.liveness.PeerTable;
import io.github.zmqliveness.protocol.Command;
import org.slf4j.Logger;

import java.nio.channels.SocketChannel;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * Who is in the router's table, and what happens as they come and go: a join, a takeover (the old connection is shut
 * as a zombie), a conflict and its quarantine, a refusal, an eviction (its connection shut after a goodbye for
 * protocol clients, its session parked or ended), a lost connection. Every change is published as a peer event,
 * membership first and the session's change after it. Loop thread only.
 */
final class Membership {
    private final RouterConfig config;
    private final PeerTable table;
    private final Sessions sessions;
    private final Outboxes outboxes;
    private final Connections connections;
    private final Counters.Owner counters;
    private final EventDispatcher<Object> events;
    /**
     * Sends a command to one connection of an identity: the one being refused, paced or evicted (with CURVE, not
     * necessarily the one the table says holds the identity).
     */
    interface ConnectionSender {
        void send(Identity identity, Conn conn, byte[] frame);
    }

    private final ConnectionSender sendToConnection;
    private final Logger log;
    private final RateLimitedLog rateLimited;
    private final long evictionGraceNanos;
    /** Lets the loop notice a stall it is in the middle of (a handler that just returned) before a join, takeover or loss. */
    private final Runnable checkStall;
    /** True if JeroMQ has reported the channel closed and the loop has not applied that yet. */
    private final java.util.function.Predicate<SocketChannel> closePending;
    /** Identities whose newcomers were refused, with how many of their pipes are still to be reported gone. */
    private final java.util.Map<Identity, Integer> refusedPipes = new java.util.HashMap<>();
    /**
     * Holders whose connection the router shut after refusing a claim (so that they come back at once), with the
     * address of that connection: they still hold the identity while they come back.
     */
    private final java.util.Map<Identity, String> displaced = new java.util.HashMap<>();
    private final long startNanos = System.nanoTime();
    private final Instant startWall = Instant.now();

    Membership(RouterConfig config, PeerTable table, Sessions sessions, Outboxes outboxes, Connections connections,
            Counters.Owner counters, EventDispatcher<Object> events, ConnectionSender sendToConnection, Logger log,
            RateLimitedLog rateLimited, long evictionGraceNanos, Runnable checkStall,
            java.util.function.Predicate<SocketChannel> closePending) {
        this.closePending = closePending;
        this.rateLimited = rateLimited;
        this.config = config;
        this.checkStall = checkStall;
        this.table = table;
        this.sessions = sessions;
        this.outboxes = outboxes;
        this.connections = connections;
        this.counters = counters;
        this.events = events;
        this.sendToConnection = sendToConnection;
        this.log = log;
        this.evictionGraceNanos = evictionGraceNanos;
    }

    /** Runs the table's deadlines: suspects, evictions, ends of quarantine. */
    void tick(long now) {
        table.onTick(now, tickSink);
    }

    private final PeerTable.TickSink tickSink = new PeerTable.TickSink() {
        @Override
        public void suspect(PeerRecord peer) {
            counters.inc(Counter.SUSPECTS);
            publish(PeerEvent.Type.SUSPECT, peer, null, null);
        }

        @Override
        public void evicted(PeerRecord peer, EvictReason reason) {
            // TRANSPORT_LOST here: a detached peer that did not come back; its connection is gone already.
            evictPeer(peer, reason, reason != EvictReason.TRANSPORT_LOST, System.nanoTime());
        }

        @Override
        public void quarantineEnded(PeerRecord peer) {
            outboxes.endQuarantine(peer.identity());
            log.info("quarantine of identity {} ended; it may join again", peer.identity());
        }
    };

    /** JeroMQ's DISCONNECTED for {@code ch}, once every message the connection pushed before it has been read. */
    void onDisconnected(SocketChannel ch) {
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
            lost(r, System.nanoTime());
        }
    }

    /**
     * The peer's connection is gone. Right after a stall the loss is most likely the stall's doing (the client, or a
     * transport heartbeat, gave up on a router that did not run): the peer is detached (see PeerTable#detach) and
     * what is sent to it is held until it returns; otherwise it is evicted now.
     */
    private void lost(PeerRecord r, long now) {
        if (r.detached()) {
            return; // already waiting for it
        }
        checkStall.run();
        if (table.detach(r, now)) {
            counters.inc(Counter.DETACHED_DURING_STALL);
            sessions.hold(r.identity());
            if (log.isDebugEnabled()) {
                log.debug("{} lost its connection {} right after a stall: kept until it returns, or evicted at the bound",
                        r.identity(), Connections.peerOf(r.address()));
            }
            return;
        }
        evictPeer(r, EvictReason.TRANSPORT_LOST, false, now);
    }

    /**
     * ZeroMQ says the pipe that owns {@code identity} ended with its connection. Under a name that
     * ROUTER_HANDOVER made up for a replaced pipe it concerns nobody in the table.
     */
    void onPipeGone(Identity identity) {
        Integer refused = refusedPipes.get(identity);
        if (refused != null) {
            // The pipe of a newcomer whose claim was refused: not the holder's.
            if (refused == 1) {
                refusedPipes.remove(identity);
            } else {
                refusedPipes.put(identity, refused - 1);
            }
            return;
        }
        PeerRecord r = table.get(identity);
        if (r != null && r.state() != PeerState.QUARANTINED) {
            lost(r, System.nanoTime());
        }
    }

    /**
     * The table's verdict on an arrival, with its side effects; null if the message must be refused.
     * {@code known} is the identity's record, or null if it is not in the table. A plain DEALER's
     * new connection begins a new session here; a HELLO's session is decided by the {@link ProtocolServer}.
     */
    PeerRecord arrive(Identity identity, PeerRecord known, String key, Conn conn, long now, boolean hello,
            boolean sameClient) {
        PeerRecord r = known;
        PeerTable.Arrival arrival;
        boolean returning = r != null && r.detached(); // lost its connection in a stall, and back
        if (r == null || (key != null && !key.equals(r.address()))) {
            checkStall.run(); // a join or a takeover: is it the doing of a stall this turn has not noticed yet?
        }
        if (r != null && key != null && r.address() != null && !key.equals(r.address()) && !sameClient && provesItsHold(r, now)) {
            refuseClaim(r, key, conn, now, hello);
            return null;
        }
        if (r == null && !hello && sessions.parkedForProtocolClient(identity)) {
            // A protocol client's session waits for it to resume: a plain DEALER under its name would end it (and drop
            // what waits in it). A HELLO from another instance may: that is a restarted client beginning anew.
            counters.inc(Counter.REFUSED_IDENTITY_IN_USE);
            rateLimited.warn("identity-parked", now, "refused a plain DEALER from {} as {}: a protocol client's session under "
                    + "that identity waits for it to resume", Connections.peerOf(key), identity);
            refuse(identity, conn, now, null);
            return null;
        }
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
                counters.inc(Counter.JOINS);
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
                counters.inc(Counter.TAKEOVERS);
                displaced.remove(identity); // back on a new connection, if it was displaced
                shutZombie(r.previousAddress(), now);
                publish(PeerEvent.Type.TOOK_OVER, r, r.previousAddress(), null, returning);
                if (!hello) {
                    beginPlain(identity, key, conn);
                }
                return r;
            case CONFLICT:
                counters.inc(Counter.CONFLICTS);
                counters.inc(Counter.RECEIVED_QUARANTINED); // the message that revealed the conflict is refused too
                counters.inc(Counter.EVICTIONS);
                counters.inc(Counter.EVICTED_CONFLICT);
                log.warn("identity {} was taken over {} times within {} (latest from {}, before that {}): two live clients "
                        + "share it; quarantined for {}. Give each client its own routing id.", identity, config.conflictThreshold,
                        config.conflictWindow, Connections.peerOf(key), Connections.peerOf(r.previousAddress()), config.quarantine);
                sessions.quarantine(identity, key);
                shutZombie(r.previousAddress(), now);
                refuse(identity, conn, now, hello ? quarantined(identity) : null);
                publish(PeerEvent.Type.CONFLICT, r, r.previousAddress(), null);
                publish(PeerEvent.Type.EVICTED, r, r.previousAddress(), EvictReason.CONFLICT);
                return null;
            case QUARANTINED:
                counters.inc(Counter.RECEIVED_QUARANTINED);
                refuse(identity, conn, now, hello ? quarantined(identity) : null);
                return null;
            default:
                throw new AssertionError(arrival);
        }
    }

    /**
     * True while the identity's holder is a protocol client (its connection said HELLO) that the router has not given up:
     * heard within interval x liveness. A claim from anyone else (a plain DEALER, or a HELLO from another instance) is
     * then refused: a stranger who names a client must not take its messages or get it stopped. (A stranger's handshake
     * alone already cuts the holder off, and the holder needs a moment to notice and come back: within that bound it
     * still holds.)
     */
    private boolean provesItsHold(PeerRecord r, long now) {
        if (!r.heartbeating() || r.state() == PeerState.QUARANTINED || r.detached()) {
            return false;
        }
        if (now - r.lastHeard() >= table.rules().evictAfterNanos()) {
            return false;
        }
        // A client that restarted after its process died: the old connection is closed, and its DISCONNECTED may
        // just not be applied yet (the loop applies them once the socket is drained). Then it holds nothing.
        Conn held = connections.at(r.address());
        if (held == null || !held.channel.isOpen() || closePending.test(held.channel)) {
            // Gone, unless it is the router that shut it after refusing a claim: then the holder is on its way back.
            return r.address().equals(displaced.get(r.identity()));
        }
        return true;
    }

    /**
     * Refuses a claim of an identity that a live protocol client holds. ZeroMQ's ROUTER_HANDOVER has already given the
     * identity's pipe to the newcomer and ended the holder's (its connection is a zombie now): the newcomer is told
     * CONFLICT, with a retry-after until the holder would be evicted if it fell silent (a client that restarted
     * while its old connection is half-open gets in then), and its connection is shut; the holder's zombie is shut
     * too, so that it reconnects at once and takes its identity back in its session (same instance). The holder
     * stays in the table meanwhile, held to its deadlines, and what is sent to it is held. Not a takeover: it does not
     * count toward a conflict.
     */
    private void refuseClaim(PeerRecord holder, String key, Conn conn, long now, boolean hello) {
        Identity identity = holder.identity();
        counters.inc(Counter.REFUSED_IDENTITY_IN_USE);
        long retryMillis = Math.max(config.heartbeatInterval.toMillis(),
                TimeUnit.NANOSECONDS.toMillis(holder.lastHeard() + table.rules().evictAfterNanos() - now)
                        + config.heartbeatInterval.toMillis());
        rateLimited.warn("identity-in-use", now, "refused {} from {}: the identity is held by a live protocol client at {}; "
                + "told to retry in {} ms. Two clients with one routing id, or a stranger using it", identity,
                Connections.peerOf(key), Connections.peerOf(holder.address()), retryMillis);
        if (!config.bindsIdentities()) {
            // Without CURVE the newcomer's handshake took the holder's pipe; with it, the holder kept its connection.
            sessions.hold(identity);
            refusedPipes.merge(identity, 1, Integer::sum); // the newcomer's pipe will be reported gone under this name
            displaced.put(identity, holder.address());
            shutZombie(holder.address(), now);
        }
        refuse(identity, conn, now, hello ? Command.disconnect(Command.Reason.CONFLICT, retryMillis,
                "identity " + identity + " is held by another live client") : null);
    }

    private void beginPlain(Identity identity, String key, Conn conn) {
        Session s = sessions.beginPlain(identity, key);
        if (conn != null) {
            conn.session = s;
        }
    }

    /**
     * Turns a connection away: {@code disconnect} first, for a protocol client that said HELLO (null for a plain
     * DEALER), then the connection is shut.
     */
    private void refuse(Identity identity, Conn conn, long now, Command disconnect) {
        if (disconnect != null) {
            sendToConnection.send(identity, conn, disconnect.encode());
            connections.shutdownAt(conn, now + evictionGraceNanos);
        } else if (conn != null && !conn.shutting) {
            connections.shutdown(conn, now);
        }
    }

    /** What a protocol client is told when its identity is quarantined. */
    private Command quarantined(Identity identity) {
        return Command.disconnect(Command.Reason.CONFLICT, config.quarantine.toMillis(),
                "identity " + identity + " is used by several clients at once");
    }

    void evictPeer(PeerRecord r, EvictReason reason, boolean shutConnection, long now) {
        table.remove(r);
        publish(PeerEvent.Type.EVICTED, r, null, reason, r.detached()); // before the session's end: membership first, as on joining
        boolean lostTouch = reason == EvictReason.TRANSPORT_LOST || reason == EvictReason.HEARTBEAT_TIMEOUT;
        if (lostTouch && r.heartbeating() && !config.resumeWindow.isZero()) {
            sessions.park(r.identity(), now + config.resumeWindow.toNanos()); // the session waits for its client
        } else {
            sessions.end(r.identity(), r.address(), reason, Counter.DROPPED_PEER_GONE);
        }
        counters.inc(Counter.EVICTIONS);
        switch (reason) {
            case HEARTBEAT_TIMEOUT: counters.inc(Counter.EVICTED_HEARTBEAT_TIMEOUT); break;
            case TRANSPORT_LOST: counters.inc(Counter.EVICTED_TRANSPORT_LOST); break;
            case EXPLICIT: counters.inc(Counter.EVICTED_EXPLICIT); break;
            default: break;
        }
        if (shutConnection && !r.detached()) { // a detached peer's connection is gone already
            Conn conn = connections.at(r.address());
            if (conn == null) {
                log.warn("evicting {} ({}): no connection is known for address {}; the transport heartbeat will reap it",
                        r.identity(), reason, Connections.peerOf(r.address()));
            } else if (!conn.shutting) {
                conn.eviction = true;
                if (r.heartbeating()) {
                    sendToConnection.send(r.identity(), conn, Command.disconnect(Command.Reason.EVICTED,
                            config.heartbeatInterval.toMillis(), reason.name()).encode());
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
            counters.inc(Counter.ZOMBIES_SHUT);
            old.replaced = true;
            connections.shutdown(old, now);
        }
    }

    void publish(PeerEvent.Type type, PeerRecord r, String previousAddress, EvictReason reason) {
        publish(type, r, previousAddress, reason, false);
    }

    /** {@code stallCaused}: the event is the stall's doing even if the table no longer holds (a detached peer). */
    private void publish(PeerEvent.Type type, PeerRecord r, String previousAddress, EvictReason reason, boolean stallCaused) {
        if (type == PeerEvent.Type.EVICTED || type == PeerEvent.Type.LEFT) {
            displaced.remove(r.identity()); // out of the table: nothing to come back to
        }
        events.publish(new PeerEvent(type, r.identity(), sessions.current(r.identity()), Connections.peerOf(r.address()),
                Connections.peerOf(previousAddress), reason, Instant.now(), stallCaused || table.holding(System.nanoTime())));
    }

    PeerSnapshot toSnapshot(PeerRecord r) {
        Outbox ob = outboxes.get(r.identity());
        Session s = ob == null ? null : ob.session;
        return new PeerSnapshot(r.identity(), r.state(), Connections.peerOf(r.address()), wall(r.connectedSince()),
                wall(r.lastHeard()), r.takeovers(), r.heartbeating(), s, ob == null ? 0 : ob.count.get(),
                ob == null ? 0 : ob.bytes.get());
    }

    private Instant wall(long nanos) {
        return startWall.plusNanos(nanos - startNanos);
    }
}
