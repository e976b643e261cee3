package io.github.zmqliveness.liveness;

import java.time.Duration;

/**
 * The timing rules of the peer table, as plain numbers (nanoseconds). Immutable.
 *
 * <p>A heartbeating peer is expected to be heard at least every {@code interval}. Silent for
 * {@code interval x (liveness - 1)} it becomes SUSPECT (only when liveness is at least 2); silent for
 * {@code interval x liveness} it is evicted. Peers that do not heartbeat have no silence deadline: the
 * transport decides when they are gone.
 *
 * <p>An identity taken over {@code conflictThreshold} times within {@code conflictWindow} is a
 * conflict and is quarantined for {@code quarantine}.
 */
public final class LivenessRules {
    final long intervalNanos;
    final int liveness;
    final int conflictThreshold;
    final long conflictWindowNanos;
    final long quarantineNanos;

    public LivenessRules(Duration interval, int liveness, int conflictThreshold, Duration conflictWindow, Duration quarantine) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("heartbeat interval must be positive, got " + interval);
        }
        if (liveness < 1) {
            throw new IllegalArgumentException("liveness must be at least 1 interval, got " + liveness);
        }
        if (conflictThreshold < 2) {
            throw new IllegalArgumentException("conflict threshold must be at least 2 takeovers, got " + conflictThreshold);
        }
        this.intervalNanos = interval.toNanos();
        this.liveness = liveness;
        this.conflictThreshold = conflictThreshold;
        this.conflictWindowNanos = conflictWindow.toNanos();
        this.quarantineNanos = quarantine.toNanos();
    }

    public long intervalNanos() {
        return intervalNanos;
    }

    public int liveness() {
        return liveness;
    }

    /** Silence after which a heartbeating peer is suspect, or -1 when liveness is 1 (no suspect stage). */
    public long suspectAfterNanos() {
        return liveness >= 2 ? intervalNanos * (liveness - 1) : -1;
    }

    public long evictAfterNanos() {
        return intervalNanos * liveness;
    }
}
