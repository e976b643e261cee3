package io.github.zmqliveness;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * The router noticed that it had not been running: its loop came back {@link #duration()} later than it asked to
 * (a garbage-collection pause, the process stopped or starved of CPU, a {@link MessageHandler} that did not return,
 * reading paused because {@code receive()} was not called). Silence it could not hear meanwhile is not held against
 * any peer: no peer is suspected or evicted for it before one heartbeat interval after the stall. Reported to
 * {@link PeerListener#onStall} for stalls of at least one heartbeat interval. Immutable.
 */
public final class Stall {
    private final Duration duration;
    private final int peersCovered;
    private final Instant time;

    public Stall(Duration duration, int peersCovered, Instant time) {
        this.duration = Objects.requireNonNull(duration);
        this.peersCovered = peersCovered;
        this.time = Objects.requireNonNull(time);
    }

    /** How long the router was not running, beyond what it asked to wait. */
    public Duration duration() {
        return duration;
    }

    /** How many heartbeating peers' deadlines fell due during the stall (and were held, not acted on). */
    public int peersCovered() {
        return peersCovered;
    }

    /** When the router noticed, on its return. */
    public Instant time() {
        return time;
    }

    @Override
    public String toString() {
        return "STALLED " + duration.toMillis() + " ms, deadlines of " + peersCovered + " peers held";
    }
}
