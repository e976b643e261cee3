package io.github.zmqliveness.liveness;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.PeerState;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The liveness model: which identities are in the table, in which state, and when each must be
 * looked at again. Pure logic: no sockets, no threads, no clock. Every method takes the time
 * ({@code now}, monotonic nanoseconds) as an argument, so the rules are tested with a fake clock.
 *
 * <p>Deadlines live in a min-heap with lazy rescheduling: a heartbeat only stores its time
 * (O(1)); when a peer's entry comes due, the table recomputes the real deadline from the last time
 * it heard the peer and, if that is still ahead, pushes the entry back (O(log n)). So a peer costs
 * at most one heap operation per interval, however often it is heard, and a tick touches only the
 * entries that are due, never every peer.
 *
 * <p>Not thread-safe: one thread (the router's loop) drives it.
 */
public final class PeerTable {
    /** What {@link #onMessage} decided about an arriving message. */
    public enum Arrival {
        /** A new identity: it is now in the table. */
        JOINED,
        /** A known identity on its current connection. */
        HEARD,
        /** A known identity on a new connection: {@link PeerRecord#previousAddress()} is the one to shut. */
        TOOK_OVER,
        /** The takeover made the identity a conflict: it is now quarantined; shut both connections. */
        CONFLICT,
        /** The identity is quarantined: refuse the message and shut its connection. */
        QUARANTINED
    }

    /** Receives the transitions a tick makes. */
    public interface TickSink {
        void suspect(PeerRecord peer);

        /**
         * The peer was removed: for silence ({@link EvictReason#HEARTBEAT_TIMEOUT}; the driver must release its
         * connection), or because it did not return in time after a {@link #detach} ({@link EvictReason#TRANSPORT_LOST};
         * its connection is already gone).
         */
        void evicted(PeerRecord peer, EvictReason reason);

        /** A quarantine ended; the record is gone and the identity may join again. */
        void quarantineEnded(PeerRecord peer);
    }

    private static final class Entry implements Comparable<Entry> {
        final long at;
        final PeerRecord peer;

        Entry(long at, PeerRecord peer) {
            this.at = at;
            this.peer = peer;
        }

        @Override
        public int compareTo(Entry o) {
            return Long.compare(at, o.at);
        }
    }

    private final LivenessRules rules;
    private final Map<Identity, PeerRecord> peers = new HashMap<>();
    private final PriorityQueue<Entry> deadlines = new PriorityQueue<>();
    /** No suspicion or eviction for silence before this time: the driver could not hear (see {@link #stalled}). */
    private long heldUntil = Long.MIN_VALUE;

    public PeerTable(LivenessRules rules) {
        this.rules = rules;
    }

    public LivenessRules rules() {
        return rules;
    }

    /**
     * A message (data or heartbeat) arrived from {@code identity} on the connection at
     * {@code address} (null if unknown). The same as {@link #join} for an identity not in the
     * table, else {@link #onMessage(PeerRecord, String, long)} with its record.
     */
    public Arrival onMessage(Identity identity, String address, long now) {
        PeerRecord peer = peers.get(identity);
        if (peer == null) {
            join(identity, address, now);
            return Arrival.JOINED;
        }
        return onMessage(peer, address, now);
    }

    /**
     * A message arrived from an identity not in the table ({@link #get} returned null): it joins,
     * as {@link Arrival#JOINED} says. Returns its new record.
     */
    public PeerRecord join(Identity identity, String address, long now) {
        PeerRecord peer = new PeerRecord(identity, rules.conflictThreshold);
        peer.address = address;
        peer.connectedSince = now;
        peer.lastHeard = now;
        if (peers.putIfAbsent(identity, peer) != null) {
            throw new IllegalStateException(identity + " is already in the table");
        }
        return peer;
    }

    /**
     * A message arrived from {@code peer}, a record in the table (as {@link #get} returned it), on
     * the connection at {@code address} (null if unknown). Never {@link Arrival#JOINED}. Saves the
     * driver that already holds the record a second lookup.
     */
    public Arrival onMessage(PeerRecord peer, String address, long now) {
        return onMessage(peer, address, now, false);
    }

    /**
     * As {@link #onMessage(PeerRecord, String, long)}; {@code sameClient} says the message proves it comes from
     * the client that last held the identity (a HELLO with the same instance id): a move to a new connection is
     * then still a takeover (the old connection is a zombie), but not evidence of two clients sharing the
     * identity, so it does not count toward a conflict. A client whose attempts keep failing during a
     * reconnect storm must not be quarantined and stopped for it.
     */
    public Arrival onMessage(PeerRecord peer, String address, long now, boolean sameClient) {
        if (peer.removed) {
            throw new IllegalArgumentException(peer + " is no longer in the table");
        }
        if (peer.state == PeerState.QUARANTINED) {
            return Arrival.QUARANTINED;
        }
        Arrival arrival = Arrival.HEARD;
        peer.detached = false; // back: whatever comes now, on a new connection, is a takeover of the one it lost
        if (address != null && peer.address != null && !address.equals(peer.address)) {
            peer.previousAddress = peer.address;
            peer.address = address;
            peer.connectedSince = now;
            peer.takeovers++;
            peer.heartbeating = false; // the new connection must say HELLO again to be held to heartbeats
            if (!sameClient && peer.recordTakeover(now, rules)) {
                quarantine(peer, now);
                return Arrival.CONFLICT;
            }
            arrival = Arrival.TOOK_OVER;
        } else if (peer.address == null) {
            peer.address = address;
        }
        peer.lastHeard = now;
        if (peer.state == PeerState.SUSPECT) {
            peer.state = PeerState.ALIVE;
        }
        return arrival;
    }

    /**
     * The peer proved it speaks the liveness protocol (HELLO): from now on it is held to heartbeat
     * deadlines. (Which session it is in is the router's business, not the liveness model's.)
     */
    public void startHeartbeating(PeerRecord peer, long now) {
        peer.heartbeating = true;
        peer.lastHeard = now;
        schedule(peer);
    }

    /** Removes a peer (explicit eviction, transport loss, goodbye). No-op if already removed. */
    public boolean remove(PeerRecord peer) {
        if (peer.removed) {
            return false;
        }
        peer.removed = true;
        peers.remove(peer.identity);
        return true;
    }

    private void quarantine(PeerRecord peer, long now) {
        peer.state = PeerState.QUARANTINED;
        peer.quarantineUntil = now + rules.quarantineNanos;
        schedule(peer);
    }

    public PeerRecord get(Identity identity) {
        return peers.get(identity);
    }

    /** Peers in the table, including quarantined identities. */
    public int size() {
        return peers.size();
    }

    public Collection<PeerRecord> records() {
        return Collections.unmodifiableCollection(peers.values());
    }

    /** The earliest pending deadline, or {@code Long.MAX_VALUE} if nothing is scheduled. */
    public long nextDeadline() {
        while (!deadlines.isEmpty()) {
            Entry head = deadlines.peek();
            if (head.peer.removed || head.peer.scheduledAt != head.at) {
                deadlines.poll(); // stale entry
                continue;
            }
            return head.at;
        }
        return Long.MAX_VALUE;
    }

    /**
     * The driver could not hear its peers for {@code stallNanos}, up to {@code now}: its own thread stalled (a GC
     * pause, the process stopped, a handler that did not return, reading paused). Silence it could not hear is not
     * held against anyone: no peer is suspected or evicted for silence before one interval from now, time enough
     * to read what the peers sent meanwhile. A peer that really died is evicted at the end of that interval, so
     * within the bound (interval x liveness + interval) measured from the end of the stall.
     *
     * @return how many heartbeating peers had a deadline come due by now (during the stall), now held
     */
    public int stalled(long stallNanos, long now) {
        heldUntil = Math.max(heldUntil, now + rules.intervalNanos());
        int covered = 0;
        for (PeerRecord peer : peers.values()) {
            // The deadline as scheduled before the stall: what the driver reads meanwhile does not move it until it comes due.
            if (peer.state != PeerState.QUARANTINED && peer.scheduledAt != PeerRecord.UNSCHEDULED && peer.scheduledAt <= now) {
                covered++;
            }
        }
        return covered;
    }

    /**
     * The peer's connection is gone. If that came to light while the table is holding after a stall, the loss is
     * most likely the stall's doing (the peer, or the transport's own heartbeat, gave up on a driver that did not
     * run): the peer is kept, detached, and returns by being heard on a new connection (a takeover), or is evicted
     * ({@link EvictReason#TRANSPORT_LOST}) at {@code interval x liveness} after the hold ends, which keeps the bound
     * for a peer that really died during the stall. Returns false, and changes nothing, when the table is not holding:
     * the driver then removes the peer at once.
     */
    public boolean detach(PeerRecord peer, long now) {
        if (peer.removed || peer.state == PeerState.QUARANTINED || !holding(now)) {
            return false;
        }
        if (!peer.detached) {
            peer.detached = true;
            peer.detachedUntil = Math.max(now, heldUntil) + rules.evictAfterNanos();
            peer.state = PeerState.ALIVE;
            peer.scheduledAt = peer.detachedUntil; // the entry for it: any earlier one is now stale
            deadlines.add(new Entry(peer.detachedUntil, peer));
        }
        return true;
    }

    /** True while suspicion and eviction are held after a stall. */
    public boolean holding(long now) {
        return now < heldUntil;
    }

    /** Applies every deadline that is due at {@code now}. */
    public void onTick(long now, TickSink sink) {
        List<PeerRecord> due = null;
        while (!deadlines.isEmpty() && deadlines.peek().at <= now) {
            Entry e = deadlines.poll();
            PeerRecord peer = e.peer;
            if (peer.removed || peer.scheduledAt != e.at) {
                continue;
            }
            peer.scheduledAt = PeerRecord.UNSCHEDULED;
            if (due == null) {
                due = new ArrayList<>();
            }
            due.add(peer);
        }
        if (due == null) {
            return;
        }
        for (PeerRecord peer : due) {
            long deadline = peer.nextDeadline(rules);
            if (deadline == PeerRecord.UNSCHEDULED) {
                continue;
            }
            if (deadline > now) {
                schedule(peer); // heard since: the deadline moved on
                continue;
            }
            if (peer.detached) {
                remove(peer);
                sink.evicted(peer, EvictReason.TRANSPORT_LOST); // it did not come back in time
                continue;
            }
            if (peer.state != PeerState.QUARANTINED && now < heldUntil) {
                peer.scheduledAt = heldUntil; // silence the driver could not hear: looked at again when the hold ends
                deadlines.add(new Entry(heldUntil, peer));
                continue;
            }
            switch (peer.state) {
                case QUARANTINED:
                    remove(peer);
                    sink.quarantineEnded(peer);
                    break;
                case SUSPECT:
                    remove(peer);
                    sink.evicted(peer, EvictReason.HEARTBEAT_TIMEOUT);
                    break;
                case ALIVE:
                    if (rules.suspectAfterNanos() >= 0 && now - peer.lastHeard < rules.evictAfterNanos()) {
                        peer.state = PeerState.SUSPECT;
                        schedule(peer);
                        sink.suspect(peer);
                    } else {
                        remove(peer);
                        sink.evicted(peer, EvictReason.HEARTBEAT_TIMEOUT);
                    }
                    break;
                default:
                    throw new AssertionError(peer.state);
            }
        }
    }

    private void schedule(PeerRecord peer) {
        long at = peer.nextDeadline(rules);
        if (at == PeerRecord.UNSCHEDULED) {
            return;
        }
        if (peer.scheduledAt != PeerRecord.UNSCHEDULED && peer.scheduledAt <= at) {
            return; // an earlier entry is pending; it reschedules itself lazily when it comes due
        }
        peer.scheduledAt = at;
        deadlines.add(new Entry(at, peer));
    }

    /** Heap entries, live and stale (for tests and the memory benchmark). */
    int pendingEntries() {
        return deadlines.size();
    }
}
