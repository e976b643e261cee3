package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A full receive queue, and the backlog of as many messages behind it, stop the router reading; nothing is lost or
 * reordered meanwhile.
 */
class ReceiveQueueTest {
    @Test
    void aFullReceiveQueuePausesReadingAndLosesNothing() throws InterruptedException {
        int capacity = 3;
        int n = 200;
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").receiveQueueCapacity(capacity).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "producer", router.endpoints().get(0));
            for (int i = 0; i < n; i++) {
                dealer.send(Integer.toString(i));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().messagesReceived() == 2 * capacity);
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).until(() -> router.stats().messagesReceived() == 2 * capacity);

            for (int i = 0; i < n; i++) {
                Message m = router.receive(Duration.ofSeconds(10));
                assertNotNull(m, "message " + i);
                assertEquals(Integer.toString(i), new String(m.first(), StandardCharsets.UTF_8));
                if (i % 50 == 0) {
                    int taken = i + 1;
                    // the queue and the backlog fill up again, and reading pauses again
                    await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().messagesReceived() == Math.min(n, taken + 2 * capacity));
                }
            }
            assertNull(router.receive(Duration.ofMillis(100)));
            RouterStats s = router.stats();
            assertEquals(n, s.messagesReceived());
            assertEquals(n, s.get("messagesDelivered"));
            assertEquals(0, s.get("loopErrors"));
        }
    }
}
