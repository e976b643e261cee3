package io.github.zmqliveness;

/**
 * What {@link LivenessRouter#send} did with a message. A send never blocks; this says why a
 * message will not be delivered when it will not.
 */
public enum SendResult {
    /** Accepted: handed to the router's loop, which writes it to the peer's connection in order. */
    QUEUED(true),
    /**
     * Accepted, but the peer is disconnected: its session is parked for the resume window, and the
     * message is delivered if the same client instance comes back asking to resume; otherwise it is
     * dropped and counted. Also while a peer that lost its connection right after a stall of the
     * router is kept for its return (see {@link PeerEvent#duringStall()}).
     */
    PARKED(true),
    /** The identity is not in the peer table (never joined, or evicted or left since). Nothing queued. */
    UNKNOWN_PEER(false),
    /** The peer's outbound queue is at its count or byte limit. Dropped and counted. */
    DROPPED_QUEUE_FULL(false),
    /** The message is larger than the configured maximum message size. Dropped and counted. */
    TOO_LARGE(false),
    /**
     * The message was addressed to a {@link Session} that has ended or been replaced by a new
     * life of its client (a restart, a new connection of a plain DEALER). Nothing queued: a reply
     * computed for one life never reaches another.
     */
    STALE_SESSION(false),
    /** The identity is quarantined after an identity conflict. Dropped and counted. */
    QUARANTINED(false),
    /** The router is closed. */
    CLOSED(false);

    private final boolean accepted;

    SendResult(boolean accepted) {
        this.accepted = accepted;
    }

    /** True when the router took responsibility for the message. */
    public boolean isAccepted() {
        return accepted;
    }
}
