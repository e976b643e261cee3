package io.github.zmqliveness;

/** Why a peer left the table, or (for {@link PeerEvent.Type#SESSION_ENDED}) why a session ended. */
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
    SHUTDOWN,
    /**
     * Sessions only: a new life of the client took the identity over (a restarted process, a HELLO
     * that did not resume, or a plain DEALER's new connection).
     */
    REPLACED,
    /** Sessions only: the client lost its connection and did not resume within the resume window. */
    RESUME_EXPIRED
}
