package io.github.zmqliveness.liveness;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.PeerState;

/**
 * One identity's row in the {@link PeerTable}. Owned by the thread that drives the table; read
 * elsewhere only through snapshots.
 */
public final class PeerRecord {
    static final long UNSCHEDULED = Long.MIN_VALUE;

    final Identity identity;
    PeerState state = PeerState.ALIVE;
    String address;
    String previousAddress;
    long connectedSince;
    long lastHeard;
    boolean heartbeating;
    int takeovers;
    /** Times of the most recent takeovers, a ring of conflictThreshold entries. */
    final long[] recentTakeovers;
    int recentTakeoverCount;
    long quarantineUntil;
    /** The deadline this record's live entry in the deadline queue carries. */
    long scheduledAt = UNSCHEDULED;
    boolean removed;
    /** Its connection was lost while the table was holding after a stall: it has until {@link #detachedUntil} to return. */
    boolean detached;
    long detachedUntil;
    /** Free for the driver of the table (the router keeps its outbound queue here). */
    public Object attachment;

    PeerRecord(Identity identity, int conflictThreshold) {
        this.identity = identity;
        this.recentTakeovers = new long[conflictThreshold];
    }

    public Identity identity() {
        return identity;
    }

    public PeerState state() {
        return state;
    }

    public String address() {
        return address;
    }

    /** The address the identity had before its latest takeover. */
    public String previousAddress() {
        return previousAddress;
    }

    public long connectedSince() {
        return connectedSince;
    }

    public long lastHeard() {
        return lastHeard;
    }

    public boolean heartbeating() {
        return heartbeating;
    }

    public int takeovers() {
        return takeovers;
    }

    public boolean removed() {
        return removed;
    }

    /**
     * True while its connection is gone but the peer is kept, because the loss came to light while the table was
     * holding after a stall (see {@link PeerTable#detach}).
     */
    public boolean detached() {
        return detached;
    }

    /** The next time this record needs attention, or UNSCHEDULED if none. */
    long nextDeadline(LivenessRules rules) {
        if (detached) {
            return detachedUntil;
        }
        switch (state) {
            case QUARANTINED:
                return quarantineUntil;
            case SUSPECT:
                return lastHeard + rules.evictAfterNanos();
            case ALIVE:
                if (!heartbeating) {
                    return UNSCHEDULED;
                }
                long suspect = rules.suspectAfterNanos();
                return lastHeard + (suspect >= 0 ? suspect : rules.evictAfterNanos());
            default:
                throw new AssertionError(state);
        }
    }

    /** Records a takeover at {@code now}; true if that makes threshold takeovers within the window. */
    boolean recordTakeover(long now, LivenessRules rules) {
        int n = recentTakeovers.length;
        recentTakeovers[recentTakeoverCount % n] = now;
        recentTakeoverCount++;
        if (recentTakeoverCount < n) {
            return false;
        }
        long oldest = recentTakeovers[recentTakeoverCount % n];
        return now - oldest <= rules.conflictWindowNanos;
    }

    @Override
    public String toString() {
        return identity + " " + state + " @" + address;
    }
}
