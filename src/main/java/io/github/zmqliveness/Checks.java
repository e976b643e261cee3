package io.github.zmqliveness;

import java.time.Duration;
import java.util.Objects;

/** Argument checks shared by the builders, with messages that say what was wrong. */
final class Checks {
    private Checks() {
    }

    static Duration positive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + d);
        }
        return d;
    }

    static int positive(int n, String what) {
        if (n < 1) {
            throw new IllegalArgumentException(what + " must be positive, got " + n);
        }
        return n;
    }

    static int atLeast(int n, int min, String what) {
        if (n < min) {
            throw new IllegalArgumentException(what + " must be at least " + min + ", not " + n);
        }
        return n;
    }

    static long positive(long n, String what) {
        if (n < 1) {
            throw new IllegalArgumentException(what + " must be positive, got " + n);
        }
        return n;
    }

    /** ZMTP heartbeat settings JeroMQ 0.6.0 handles correctly: the timeout must be under the interval. */
    static void transportHeartbeat(Duration interval, Duration timeout) {
        positive(interval, "transport heartbeat interval");
        positive(timeout, "transport heartbeat timeout");
        if (timeout.compareTo(interval) >= 0) {
            throw new IllegalArgumentException("transport heartbeat timeout " + timeout + " must be shorter than its interval "
                    + interval + ": with timeout >= interval JeroMQ 0.6.0 often never detects a dead peer; use at most interval / 2");
        }
    }

    static int liveness(int liveness) {
        if (liveness < 1 || liveness > 255) {
            throw new IllegalArgumentException("liveness must be 1 to 255 intervals, got " + liveness);
        }
        return liveness;
    }
}
