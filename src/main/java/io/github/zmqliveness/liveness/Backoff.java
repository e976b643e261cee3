package io.github.zmqliveness.liveness;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time in
 * [0, min(max, initial x multiplier^n)]. Full jitter spreads a crowd of clients that lost the same
 * server at the same moment, so they do not all come back in the same instant. Immutable; the
 * random source is passed in so tests are deterministic.
 */
public final class Backoff {
    private final long initialNanos;
    private final long maxNanos;
    private final double multiplier;

    public Backoff(Duration initial, Duration max, double multiplier) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0 || multiplier < 1) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= max and multiplier >= 1, got "
                    + initial + ", " + max + ", " + multiplier);
        }
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.multiplier = multiplier;
    }

    /** The ceiling for attempt {@code n} (0-based), before jitter. */
    public long ceilingNanos(int attempt) {
        double c = initialNanos * Math.pow(multiplier, Math.min(attempt, 64));
        return c >= maxNanos ? maxNanos : (long) c;
    }

    /**
     * The delay after a server said when to come back: exactly {@code retryAfterNanos}, plus a jitter
     * of at most a tenth of it and at most the initial backoff, whatever the attempt count. The
     * server has already given each client its own slot (a closing router, a paced one); adding the
     * failure backoff on top would make a client miss its slot and queue again.
     */
    public long toldDelayNanos(long retryAfterNanos, DoubleSupplier random) {
        long jitter = Math.min(initialNanos, retryAfterNanos / 10);
        return retryAfterNanos + (long) (random.getAsDouble() * jitter);
    }

    /** The delay before attempt {@code n}: {@code random.getAsDouble()} in [0, 1) times the ceiling. */
    public long delayNanos(int attempt, DoubleSupplier random) {
        return (long) (random.getAsDouble() * ceilingNanos(attempt));
    }
}
