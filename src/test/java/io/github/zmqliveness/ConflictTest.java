package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two live clients with one identity must be reported as a conflict and stopped from flapping. */
class ConflictTest {
    @Test
    void twoLiveClientsSharingAnIdentityAreAConflictAndAreQuarantinedInsteadOfFlapping() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity twin = Identity.of("twin");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .conflictPolicy(3, Duration.ofSeconds(10), Duration.ofSeconds(4)).build();
             ZContext ctxA = Dealers.context(); ZContext ctxB = Dealers.context()) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread a = chatter(Dealers.connect(ctxA, "twin", router.endpoints().get(0)), "a", stop);
            Thread b = chatter(Dealers.connect(ctxB, "twin", router.endpoints().get(0)), "b", stop);
            try {
                EventRecorder.Seen conflict = events.awaitType(PeerEvent.Type.CONFLICT, twin, 0, Duration.ofSeconds(15));
                events.await(EventRecorder.evicted(twin, EvictReason.CONFLICT), conflict.nanos, Duration.ofSeconds(5));
                assertEquals(PeerState.QUARANTINED, router.peer(twin).orElseThrow().state());
                assertEquals(SendResult.QUARANTINED, router.send(twin, "x".getBytes()));

                // While quarantined both keep trying; the identity must not join or flap.
                long takeoversAtConflict = events.count(PeerEvent.Type.TOOK_OVER, twin);
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
                        .until(() -> events.count(PeerEvent.Type.TOOK_OVER, twin) == takeoversAtConflict
                                && events.count(PeerEvent.Type.JOINED, twin) == 1);
                assertTrue(router.stats().get("receivedQuarantined") > 0, "their messages were refused and counted");
                assertTrue(takeoversAtConflict <= 2, "flapped " + takeoversAtConflict + " times before the conflict was declared");

                // After the quarantine the identity may join again (and, still shared, conflicts again).
                events.awaitType(PeerEvent.Type.JOINED, twin, conflict.nanos, Duration.ofSeconds(15));
            } finally {
                stop.set(true);
                a.join(5000);
                b.join(5000);
            }
        }
    }

    private static Thread chatter(ZMQ.Socket s, String who, AtomicBoolean stop) {
        Thread t = new Thread(() -> {
            int n = 0;
            while (!stop.get()) {
                s.send((who + n++).getBytes(), ZMQ.DONTWAIT);
                s.recv(ZMQ.DONTWAIT);
                try {
                    Thread.sleep(30); // the client's own send pace, not a test wait
                } catch (InterruptedException e) {
                    return;
                }
            }
            s.close();
        }, "twin-" + who);
        t.start();
        return t;
    }
}
