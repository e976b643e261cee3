package io.github.zmqliveness;

import java.util.Collections;
import java.util.Map;

/**
 * Counters of a router since it started, read at one moment. Immutable. Every message the router
 * accepted or received is in exactly one of the delivered/sent or dropped counters, so a
 * difference between them is a loss that the router did not see (for example messages inside
 * ZeroMQ's own pipe when a connection died: up to the send high-water mark per peer).
 */
public final class RouterStats {
    private final Map<String, Long> counters;

    public RouterStats(Map<String, Long> counters) {
        this.counters = Collections.unmodifiableMap(counters);
    }

    /** A counter by name (see {@link #asMap()} for the names), 0 if unknown. */
    public long get(String name) {
        return counters.getOrDefault(name, 0L);
    }

    /** Every counter by name, in a stable order. */
    public Map<String, Long> asMap() {
        return counters;
    }

    public long joins() {
        return get("joins");
    }

    public long evictions() {
        return get("evictions");
    }

    public long takeovers() {
        return get("takeovers");
    }

    public long conflicts() {
        return get("conflicts");
    }

    public long messagesReceived() {
        return get("messagesReceived");
    }

    public long messagesSent() {
        return get("messagesSent");
    }

    @Override
    public String toString() {
        return counters.toString();
    }
}
