package io.github.zmqliveness.cli;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.MessageHandler;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts the messages the demo's router receives, per identity, and remembers the address each
 * identity last sent from. Runs on the router's loop, so it only updates maps and returns.
 */
final class MessageTally implements MessageHandler {
    private final Map<Identity, Long> counts = new ConcurrentHashMap<>();
    private final Map<Identity, String> lastAddress = new ConcurrentHashMap<>();

    @Override
    public void onMessage(Message message) {
        counts.merge(message.identity(), 1L, Long::sum);
        if (message.address() != null) {
            lastAddress.put(message.identity(), message.address());
        }
    }

    long count(Identity identity) {
        return counts.getOrDefault(identity, 0L);
    }

    String lastAddress(Identity identity) {
        return lastAddress.get(identity);
    }
}
