package io.github.zmqliveness;

/**
 * Receives a {@link DealerClient}'s events, on one dedicated thread ({@code zmq-liveness-client-events-<identity>}),
 * in the order they happened, never on the socket's thread. It may call any method of the client;
 * it should return promptly (events queue up behind it). An exception is logged and does not stop
 * later events.
 */
@FunctionalInterface
public interface ClientListener {
    void onEvent(ClientEvent event);
}
