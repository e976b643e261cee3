package io.github.zmqliveness;

/**
 * Handles received messages on the router's own loop thread (the fastest path: no hand-off).
 *
 * <p>Threading: called on the router's loop thread {@code zmq-liveness-router-N}, one message at a time, in the order
 * the socket delivered them. It may call {@link LivenessRouter#send} (the reply is written as soon
 * as the handler returns) and any other method of the router. It must not block: while it runs,
 * the router reads no messages and checks no deadlines. An exception is logged, counted, and the
 * next message is handled as usual.
 */
@FunctionalInterface
public interface MessageHandler {
    void onMessage(Message message);
}
