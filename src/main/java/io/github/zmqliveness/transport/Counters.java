package io.github.zmqliveness.transport;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters, one slot per {@link Counter}, readable from any thread. Any thread may count with
 * {@link #inc}/{@link #add} (an atomic add). The one thread that owns them (the router's loop)
 * counts through {@link #owner()} instead: a plain add and a release store, no atomic
 * read-modify-write on its hot path. A counter may be counted both ways; its value is the sum.
 *
 * <p>An owner's count is visible to another thread as soon as anything the owner did after it is
 * (a message it queued, an event it published), and at once to the owner itself.
 */
public final class Counters {
    private final AtomicLongArray shared = new AtomicLongArray(Counter.values().length);
    /** Written by the owner alone, so a plain read of its own value and a release store suffice. */
    private final AtomicLongArray owned = new AtomicLongArray(Counter.values().length);
    private final Owner owner = new Owner();
    private final Counter.Side side;

    /** The router's counters. */
    public Counters() {
        this(Counter.Side.ROUTER);
    }

    /** The counters {@code side} shows. */
    public Counters(Counter.Side side) {
        this.side = side;
    }

    /** Counts for the thread that owns these counters; no other thread may use it. */
    public final class Owner {
        private Owner() {
        }

        public void inc(Counter c) {
            int i = c.ordinal();
            owned.lazySet(i, owned.getPlain(i) + 1);
        }

        public void add(Counter c, long n) {
            if (n != 0) {
                int i = c.ordinal();
                owned.lazySet(i, owned.getPlain(i) + n);
            }
        }
    }

    /** Any thread. */
    public void inc(Counter c) {
        shared.incrementAndGet(c.ordinal());
    }

    /** Any thread. */
    public void add(Counter c, long n) {
        if (n != 0) {
            shared.addAndGet(c.ordinal(), n);
        }
    }

    /** The owner's way to count: see the class comment. */
    public Owner owner() {
        return owner;
    }

    public long get(Counter c) {
        int i = c.ordinal();
        return shared.get(i) + owned.get(i);
    }

    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Counter c : Counter.values()) {
            if (c.shownTo(side)) {
                m.put(c.key, get(c));
            }
        }
        return m;
    }
}
