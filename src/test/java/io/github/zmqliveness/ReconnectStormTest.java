package io.github.zmqliveness;

import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A router that paces joins admits a crowd of clients at its rate, and every one of them gets in. */
class ReconnectStormTest {
    @Test
    void pacedRouterAdmitsEveryClientOfAStormAtItsRate() {
        int clients = 40;
        EventRecorder events = new EventRecorder();
        List<DealerClient> crowd = new ArrayList<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .maxJoinsPerSecond(20).build()) {
            long start = System.nanoTime();
            try {
                for (int i = 0; i < clients; i++) {
                    crowd.add(DealerClient.builder().identity("storm-" + i).connect(router.endpoints().get(0))
                            .backoff(Duration.ofMillis(20), Duration.ofMillis(200), 2).build());
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> router.peerCount() == clients);
                long took = System.nanoTime() - start;
                long deferred = router.stats().get("joinsDeferred");
                System.out.println(clients + " clients admitted at 20/s in " + TimeUnit.NANOSECONDS.toMillis(took) + " ms, "
                        + deferred + " HELLOs told to come back later");
                assertTrue(deferred > 0, "a burst of 20 cannot admit 40 clients at once");
                // 20 in the burst, then 20 per second: the last can not be in before about one second.
                assertTrue(took >= TimeUnit.MILLISECONDS.toNanos(800), "admitted too fast for the rate: " + took / 1_000_000 + " ms");
            } finally {
                crowd.forEach(DealerClient::close);
            }
        }
    }
}
