package io.github.zmqliveness.transport;

import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A listener that falls behind costs a bounded queue and counted drops, never the heap. */
class EventDispatcherTest {
    @Test
    void aStuckListenerHoldsAtMostTheCapacityAndEveryDropIsCounted() throws InterruptedException {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch first = new CountDownLatch(1);
        List<Integer> delivered = new CopyOnWriteArrayList<>();
        AtomicInteger dropped = new AtomicInteger();
        EventDispatcher<Integer> d = new EventDispatcher<>(e -> {
            first.countDown();
            try {
                release.await(10, TimeUnit.SECONDS); // a listener stuck on something slow
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            delivered.add(e);
        }, "test-events", () -> { }, dropped::incrementAndGet, 10, LoggerFactory.getLogger(EventDispatcherTest.class));
        d.publish(0);
        assertTrue(first.await(10, TimeUnit.SECONDS));
        for (int i = 1; i <= 100; i++) {
            d.publish(i); // the listener holds event 0: 10 wait, the other 90 are dropped
        }
        assertEquals(90, dropped.get());
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> delivered.size() == 11);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), delivered, "what was kept is delivered, in order");
        assertTrue(d.close(Duration.ofSeconds(5)));
        d.publish(999);
        assertEquals(90, dropped.get(), "after close nothing is delivered, and that is no drop");
    }
}
