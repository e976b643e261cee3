package io.github.zmqliveness.liveness;

/**
 * Admissions per second with a burst allowance, time passed in (nanoseconds). Used to pace a
 * reconnect storm: when a router restarts, thousands of clients say HELLO at once. Not thread-safe.
 */
public final class TokenBucket {
    private final double perNano;
    private final double burst;
    private double tokens;
    private long last;
    private boolean started;

    /** {@code ratePerSecond} admissions per second on average, up to {@code burst} at once. */
    public TokenBucket(double ratePerSecond, double burst) {
        if (ratePerSecond <= 0 || burst < 1) {
            throw new IllegalArgumentException("rate must be positive and burst at least 1, got " + ratePerSecond + ", " + burst);
        }
        this.perNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.tokens = burst;
    }

    /** Takes one token if there is one at {@code now}. */
    public boolean tryTake(long now) {
        refill(now);
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Nanoseconds until one more token is available (0 if one is). */
    public long nanosUntilNext(long now) {
        refill(now);
        return tokens >= 1 ? 0 : (long) Math.ceil((1 - tokens) / perNano);
    }

    private void refill(long now) {
        if (!started) {
            started = true;
            last = now;
            return;
        }
        long elapsed = now - last;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed * perNano);
            last = now;
        }
    }
}
