package io.github.zmqliveness;

import java.util.Collections;
import java.util.Map;

/**
 * Counters of a router since it started, read at one moment. Immutable.
 *
 * <p><b>Accounting.</b> Every message the router received ends in exactly one outcome, and every
 * message it accepted for sending is written, dropped with a reason, or still queued:
 * <pre>
 * messagesReceived = messagesDelivered + commandsReceived + joinsDeferred + receivedTooLarge
 *                  + receivedMalformed + receivedAfterEviction + receivedQuarantined + refusedIdentityInUse
 *                  + refusedNotAuthorized
 * messagesAccepted = messagesSent + droppedExpired + droppedPeerGone + droppedStaleSession
 *                  + droppedResumeExpired + droppedConflict + droppedOnClose + (queued now)
 * </pre>
 * {@link #receivedUnaccounted()} and {@link #acceptedPending()} compute the differences. Sends that
 * were refused ({@code droppedQueueFull}, {@code droppedUnknownPeer}, {@code droppedQuarantined},
 * {@code droppedTooLarge}, {@code refusedStaleSession}) were never accepted and are not in these sums.
 * "Sent" means written to ZeroMQ: messages inside ZeroMQ's own pipe when a connection dies (up to the
 * send high-water mark per peer) are lost without the router seeing it. The counters are read one by
 * one while the router runs, so the sums hold exactly only between turns of its loop, for example
 * after {@link LivenessRouter#close()}.
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

    /**
     * Received messages that are in no outcome counter (see the class comment): 0 when the accounting balances.
     */
    public long receivedUnaccounted() {
        return get("messagesReceived") - (get("messagesDelivered") + get("commandsReceived") + get("joinsDeferred")
                + get("receivedTooLarge") + get("receivedMalformed") + get("receivedAfterEviction") + get("receivedQuarantined")
                + get("refusedIdentityInUse") + get("refusedNotAuthorized"));
    }

    /**
     * Accepted messages neither written nor dropped: the ones queued at the moment of reading (0 after
     * {@link LivenessRouter#close()}, when whatever was queued is counted under {@code droppedOnClose}).
     */
    public long acceptedPending() {
        return get("messagesAccepted") - (get("messagesSent") + get("droppedExpired") + get("droppedPeerGone")
                + get("droppedStaleSession") + get("droppedResumeExpired") + get("droppedConflict") + get("droppedOnClose"));
    }

    @Override
    public String toString() {
        return counters.toString();
    }
}
