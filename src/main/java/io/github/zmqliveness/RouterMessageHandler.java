package io.github.zmqliveness;

/**
 * A {@link MessageHandler} that is handed its router with each message, so that it can reply without a reference
 * of its own (a lambda given to the builder cannot name the router the builder is about to make):
 *
 * <pre>{@code
 * LivenessRouter.builder().bind("tcp://*:5555")
 *         .handler((router, m) -> router.reply(m, m.frames()))
 *         .build();
 * }</pre>
 *
 * <p>Threading and ordering as for {@link MessageHandler}: called on the router's loop thread, one message at a
 * time, in the order the socket delivered them; it must not block.
 */
@FunctionalInterface
public interface RouterMessageHandler {
    void onMessage(LivenessRouter router, Message message);
}
