package io.github.zmqliveness;

/**
 * Receives peer events from a {@link LivenessRouter}.
 *
 * <p>Threading: every listener of a router is called on one dedicated thread,
 * {@code zmq-liveness-events-N}, never on the socket's loop; events for one router arrive in the
 * order they happened. A listener may call any method of the router (send, evict, peers) but
 * should return promptly: events queue up behind a slow listener (they are never dropped), and
 * {@link LivenessRouter#close()} waits at most its close timeout for the queue to drain.
 * An exception thrown by a listener is logged and does not stop later events.
 */
@FunctionalInterface
public interface PeerListener {
    void onEvent(PeerEvent event);

    /**
     * The router itself stalled for at least one heartbeat interval (see {@link Stall}); called on the same thread and
     * in the same order as {@link #onEvent}. Does nothing unless overridden.
     */
    default void onStall(Stall stall) {
    }
}
