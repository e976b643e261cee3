package io.github.zmqliveness.transport;

import org.slf4j.Logger;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * WARN lines for bad input, at most one per kind per period; the next line that gets through says
 * how many were held back. So a flood of bad frames costs a counter increment each, not a line each.
 */
public final class RateLimitedLog {
    private static final class Slot {
        final AtomicLong nextAllowed = new AtomicLong(Long.MIN_VALUE);
        final AtomicLong suppressed = new AtomicLong();
    }

    private final Logger log;
    private final long periodNanos;
    private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();

    public RateLimitedLog(Logger log, long period, TimeUnit unit) {
        this.log = log;
        this.periodNanos = unit.toNanos(period);
    }

    /** Logs {@code format} at WARN unless a line of the same {@code kind} went out within the period. */
    public void warn(String kind, long now, String format, Object... args) {
        Slot slot = slots.computeIfAbsent(kind, k -> new Slot());
        long next = slot.nextAllowed.get();
        if (next != Long.MIN_VALUE && now - next < 0) {
            slot.suppressed.incrementAndGet();
            return;
        }
        if (!slot.nextAllowed.compareAndSet(next, now + periodNanos)) {
            slot.suppressed.incrementAndGet();
            return;
        }
        long held = slot.suppressed.getAndSet(0);
        if (held > 0) {
            log.warn(format + " (" + held + " more like this since the last such line)", args);
        } else {
            log.warn(format, args);
        }
    }
}
