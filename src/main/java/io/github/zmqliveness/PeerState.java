package io.github.zmqliveness;

/** Where a peer stands in the router's liveness model. */
public enum PeerState {
    /** Heard recently (or its connection is up, for peers that send no heartbeats). */
    ALIVE,
    /** A heartbeating peer that has missed heartbeats; one more silent interval and it is evicted. */
    SUSPECT,
    /** Two connections fought over this identity; it is refused until the quarantine ends. */
    QUARANTINED
}
