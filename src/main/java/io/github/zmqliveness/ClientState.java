package io.github.zmqliveness;

/** Where a {@link DealerClient} stands. */
public enum ClientState {
    /** Connected or connecting, waiting for the server's WELCOME. */
    CONNECTING,
    /** A session is up: messages flow. */
    READY,
    /** Waiting before the next attempt (backoff with jitter, or the server's retry-after). */
    BACKOFF,
    /** Given up for a reason retrying cannot fix (the server said its identity is in use elsewhere). */
    STOPPED,
    /** Closed by the application. */
    CLOSED
}
