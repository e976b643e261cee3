package io.github.zmqliveness.transport;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/** Thread-safe counters, one slot per {@link Counter}. */
public final class Counters {
    private final AtomicLongArray values = new AtomicLongArray(Counter.values().length);

    public void inc(Counter c) {
        values.incrementAndGet(c.ordinal());
    }

    public void add(Counter c, long n) {
        if (n != 0) {
            values.addAndGet(c.ordinal(), n);
        }
    }

    public long get(Counter c) {
        return values.get(c.ordinal());
    }

    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Counter c : Counter.values()) {
            m.put(c.key, values.get(c.ordinal()));
        }
        return m;
    }
}
