package io.github.zmqliveness.transport;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The loop fills the receive queue and its backlog while an application thread takes from the queue. The window: the
 * loop moves the backlog up until the queue is full, and the application takes one message before the loop counts the
 * room; that room is in the queue, but with a backlog left every message goes behind it. Counted as room, it overflowed
 * the backlog (a loop error, and the message lost: seen in ReceiveQueueTest about 1 run in 5). Many rounds, so the
 * window is hit.
 */
class InboxTest {
    @Test
    void theLoopNeverReadsMoreThanTheBacklogCanHoldWhileTheApplicationTakes() throws Exception {
        int capacity = 3;
        int n = 100_000;
        Counters counters = new Counters();
        Inbox inbox = new Inbox(null, capacity, counters.owner(), new RateLimitedLog(LoggerFactory.getLogger(InboxTest.class), 10,
                TimeUnit.SECONDS), () -> { });
        AtomicReference<String> wrong = new AtomicReference<>();
        Thread application = new Thread(() -> {
            try {
                for (int expected = 0; expected < n && wrong.get() == null; ) {
                    Message m = inbox.receive(10, TimeUnit.MILLISECONDS, true);
                    if (m == null) {
                        continue;
                    }
                    String got = new String(m.first(), StandardCharsets.UTF_8);
                    if (!got.equals(Integer.toString(expected))) {
                        wrong.set("expected " + expected + ", got " + got);
                    }
                    expected++;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "application");
        application.start();
        Identity id = Identity.of("producer");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
            for (int sent = 0; sent < n && wrong.get() == null && System.nanoTime() < deadline; ) {
                int room = inbox.room(64);
                if (room == 0) {
                    Thread.yield(); // paused, as the loop would be: let the application take
                }
                for (int i = 0; i < room && sent < n; i++, sent++) {
                    inbox.deliver(new Message(id, List.of(Integer.toString(sent).getBytes(StandardCharsets.UTF_8)), null));
                }
            }
        } finally {
            application.join(10_000); // it ends once it has taken all n (or on a wrong one)
            application.interrupt(); // the loop failed: it waits for messages that will never come
            application.join(10_000);
        }
        assertNull(wrong.get());
        assertEquals(n, counters.get(Counter.MESSAGES_DELIVERED));
        assertNull(inbox.receive(0, TimeUnit.MILLISECONDS, false), "nothing left over");
    }
}
