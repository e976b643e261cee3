package io.github.zmqliveness.liveness;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackoffAndPacingTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void backoffCeilingGrowsGeometricallyUpToTheMaximum() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), 2.0);
        assertEquals(100 * MS, b.ceilingNanos(0));
        assertEquals(200 * MS, b.ceilingNanos(1));
        assertEquals(1600 * MS, b.ceilingNanos(4));
        assertEquals(2000 * MS, b.ceilingNanos(5));
        assertEquals(2000 * MS, b.ceilingNanos(1000), "no overflow after many attempts");
    }

    @Test
    void fullJitterSpansZeroToTheCeiling() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), 2.0);
        assertEquals(0, b.delayNanos(3, () -> 0.0));
        assertEquals(400 * MS, b.delayNanos(3, () -> 0.5));
        assertTrue(b.delayNanos(3, () -> 0.999_999) < 800 * MS);
    }

    @Test
    void aServersRetryAfterIsKeptWithALittleJitterAndNoFailureBackoff() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), 2.0);
        assertEquals(2000 * MS, b.toldDelayNanos(2000 * MS, () -> 0.0));
        assertEquals(2050 * MS, b.toldDelayNanos(2000 * MS, () -> 0.5), "jitter up to the initial backoff");
        assertEquals(300 * MS + 15 * MS, b.toldDelayNanos(300 * MS, () -> 0.5), "and up to a tenth of the wait");
        assertEquals(0, b.toldDelayNanos(0, () -> 0.9));
    }

    @Test
    void backoffRejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), 2));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 2));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofMillis(1), Duration.ofSeconds(1), 0.5));
    }

    @Test
    void tokenBucketAdmitsTheBurstThenTheRate() {
        TokenBucket bucket = new TokenBucket(10, 10); // 10 per second, burst 10
        long t = 1_000 * MS;
        for (int i = 0; i < 10; i++) {
            assertTrue(bucket.tryTake(t), "burst admission " + i);
        }
        assertFalse(bucket.tryTake(t), "the burst is spent");
        assertEquals(100 * MS, bucket.nanosUntilNext(t));
        assertFalse(bucket.tryTake(t + 99 * MS));
        assertTrue(bucket.tryTake(t + 100 * MS), "one token per 100 ms");
        assertFalse(bucket.tryTake(t + 100 * MS));
        int admitted = 0;
        for (long now = t + 100 * MS; now <= t + 10_100 * MS; now += MS) {
            if (bucket.tryTake(now)) {
                admitted++;
            }
        }
        assertEquals(100, admitted, "10 s at 10 per second");
    }

    @Test
    void tokenBucketNeverHoldsMoreThanItsBurst() {
        TokenBucket bucket = new TokenBucket(100, 5);
        bucket.tryTake(0);
        long later = TimeUnit.HOURS.toNanos(1);
        int admitted = 0;
        while (bucket.tryTake(later)) {
            admitted++;
        }
        assertEquals(5, admitted);
    }
}
