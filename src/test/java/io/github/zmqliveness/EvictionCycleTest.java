package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import io.github.zmqliveness.support.Net;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Explicit eviction releases the connection; a live peer comes back; nothing accumulates. */
class EvictionCycleTest {
    private static final int CYCLES = 1000;

    @Test
    void evictedLivePeerReconnectsAndIsHeardAgain() {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("bouncer");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "bouncer", router.endpoints().get(0));
            dealer.send("before");
            EventRecorder.Seen joined = events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(10));
            assertTrue(router.send(id, "queued for the old connection".getBytes()).isAccepted());

            assertTrue(router.evict(id), "it was in the table");
            EventRecorder.Seen evicted = events.awaitEvicted(id, 0, Duration.ofSeconds(5));
            assertEquals(EvictReason.EXPLICIT, evicted.event.reason());
            assertTrue(router.peer(id).isEmpty());
            assertEquals(SendResult.UNKNOWN_PEER, router.send(id, "x".getBytes()));
            await().atMost(Duration.ofSeconds(5)).until(() -> router.stats().get("evictionsConfirmed") == 1);

            dealer.send("after");
            EventRecorder.Seen rejoined = events.awaitType(PeerEvent.Type.JOINED, id, evicted.nanos, Duration.ofSeconds(10));
            assertTrue(!rejoined.event.address().equals(joined.event.address()), "heard again on a new connection");
            assertEquals(1, router.peerCount());
            assertTrue(!router.evict(Identity.of("nobody")), "evicting an unknown identity says so");
        }
    }

    @Test
    void thousandEvictReconnectCyclesLeaveNoFileDescriptorThreadOrPeerGrowth() throws InterruptedException {
        Facilities.requireProcFs();
        Identity id = Identity.of("cycler");
        BlockingQueue<PeerEvent> joins = new LinkedBlockingQueue<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").handler(m -> { })
                .listener(e -> {
                    if (e.type() == PeerEvent.Type.JOINED) {
                        joins.add(e);
                    }
                }).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "cycler", router.endpoints().get(0));
            dealer.setReconnectIVL(5);
            int fdsBefore = 0;
            int threadsBefore = 0;
            for (int i = 0; i < CYCLES + 20; i++) {
                if (i == 20) { // after warm-up: JIT threads, pools and buffers settled
                    fdsBefore = Net.openFds();
                    threadsBefore = Thread.activeCount();
                }
                // A message sent while the old connection is being torn down is lost with it (ZeroMQ's DEALER
                // does not resend), so the client keeps talking, as a real one does, until it is heard.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                PeerEvent joined = null;
                while (joined == null && System.nanoTime() < deadline) {
                    dealer.send("cycle " + i, ZMQ.DONTWAIT);
                    joined = joins.poll(2, TimeUnit.MILLISECONDS);
                }
                assertNotNull(joined, "cycle " + i + ": the evicted dealer did not rejoin within 10 s");
                assertTrue(router.evict(id), "cycle " + i + ": the peer should be in the table");
            }
            long evictions = router.stats().get("evictedExplicit");
            assertEquals(CYCLES + 20, evictions);
            await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().get("evictionsConfirmed") == evictions);
            await().atMost(Duration.ofSeconds(10)).until(() -> router.connectionCount() <= 1);
            int fdsAfter = Net.openFds();
            int threadsAfter = Thread.activeCount();
            assertTrue(fdsAfter <= fdsBefore + 4, "file descriptors grew from " + fdsBefore + " to " + fdsAfter);
            assertTrue(threadsAfter <= threadsBefore + 1, "threads grew from " + threadsBefore + " to " + threadsAfter);
            assertEquals(0, router.peerCount());
            assertEquals(0, router.stats().get("evictionsUnconfirmed"));
        }
    }
}
