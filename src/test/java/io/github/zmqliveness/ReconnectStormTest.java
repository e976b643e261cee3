package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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

    @Test
    void aFloodOfHellosCannotPushTheRetryAfterBeyondTheHorizon() throws Exception {
        // One join every 2 s: 40 HELLOs at once would get slots out to 80 s; the horizon keeps every wait under 62 s.
        int hellos = 40;
        List<Long> retries = new ArrayList<>();
        long start = System.nanoTime();
        long elapsedNanos;
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").maxJoinsPerSecond(0.5).build();
             ZContext ctx = Dealers.context()) {
            for (int i = 0; i < hellos; i++) {
                byte[] instance = new byte[16];
                instance[0] = (byte) (i + 1);
                byte[] reply = Dealers.protocolClient(ctx, "flood-" + i, Command.hello(instance, 1, 0).encode(),
                        router.endpoints().get(0), 10_000).first; // WELCOME, or DISCONNECT(TRY_LATER)
                assertNotNull(reply, "an answer to HELLO " + i);
                Command c = Command.decode(reply);
                if (c.type() == Command.Type.DISCONNECT) {
                    assertEquals(Command.Reason.TRY_LATER, c.reason());
                    retries.add((long) c.retryAfterMillis());
                }
            }
            elapsedNanos = System.nanoTime() - start;
        }
        long max = retries.stream().mapToLong(Long::longValue).max().orElse(0);
        System.out.println(retries.size() + " HELLOs deferred; the longest retry-after " + max + " ms");
        // The bucket admits its burst of one, then one more every 2 s of the time the flood took (a loaded machine
        // takes seconds to open 40 connections); every other HELLO must have been deferred.
        long admittable = 1 + elapsedNanos / TimeUnit.SECONDS.toNanos(2) + 1;
        assertTrue(hellos - retries.size() <= admittable, "admitted " + (hellos - retries.size()) + " in "
                + TimeUnit.NANOSECONDS.toMillis(elapsedNanos) + " ms at 0.5/s; deferred: " + retries);
        assertTrue(max <= 62_000, "a wait beyond the 60 s horizon (+ one slot of jitter): " + retries);
        assertTrue(max >= 55_000, "the horizon was reached, so it was what bounded the waits: " + retries);
    }
}
