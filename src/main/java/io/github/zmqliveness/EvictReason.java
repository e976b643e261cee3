package io.github.zmqliveness;

/** Why a peer left the table. */
public enum EvictReason {
    /** A heartbeating peer was silent for interval x liveness. Its connection was shut down. */
    HEARTBEAT_TIMEOUT,
    /**
     * The connection closed: the peer closed it, was killed, or the ZMTP heartbeat (PING/PONG)
     * timed out on a half-open or frozen link.
     */
    TRANSPORT_LOST,
    /** The application called {@link LivenessRouter#evict}. Its connection was shut down. */
    EXPLICIT,
    /** Several connections kept taking this identity over; it was quarantined. */
    CONFLICT,
    /** The peer said goodbye (protocol peers only). */
    BYE,
    /** The router is closing. */
    SHUTDOWN
}
