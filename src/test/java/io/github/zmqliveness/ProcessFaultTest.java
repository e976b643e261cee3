package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Clients in processes of their own, killed or frozen whole, as crashes and sleeps happen in the field. */
class ProcessFaultTest {
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final int LIVENESS = 3;
    private static final long BOUND_NANOS = INTERVAL.toNanos() * (LIVENESS + 1);

    private final EventRecorder events = new EventRecorder();
    private LivenessRouter router;

    @BeforeEach
    void start() {
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(LIVENESS)
                .listener(events).handler(m -> m.identity()).build();
    }

    @AfterEach
    void stop() {
        router.close();
    }

    @Test
    void killedPeerIsEvicted() throws Exception {
        Identity id = Identity.of("crasher");
        try (ChildProcess child = ChildProcess.jeromqDealer(router.endpoints().get(0), "crasher", 100)) {
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(30));
            long killedAt = System.nanoTime();
            child.kill();
            EventRecorder.Seen evicted = events.awaitEvicted(id, killedAt, Duration.ofSeconds(10));
            assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason());
            assertTrue(evicted.nanos - killedAt <= BOUND_NANOS, "evicted after " + TimeUnit.NANOSECONDS.toMillis(evicted.nanos - killedAt) + " ms");
            assertTrue(router.peer(id).isEmpty());
        }
    }

    @Test
    void stoppedProcessIsEvictedWithinTheBoundAndRejoinsCleanlyWhenResumed() throws Exception {
        Identity id = Identity.of("sleeper");
        try (ChildProcess child = ChildProcess.jeromqDealer(router.endpoints().get(0), "sleeper", 100)) {
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(30));
            child.signal("STOP"); // the whole JVM, its ZeroMQ I/O thread too: nobody answers PING
            long stoppedAt = System.nanoTime();
            EventRecorder.Seen evicted = events.awaitEvicted(id, stoppedAt, Duration.ofSeconds(10));
            assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason());
            assertTrue(evicted.nanos - stoppedAt <= BOUND_NANOS, "evicted after " + TimeUnit.NANOSECONDS.toMillis(evicted.nanos - stoppedAt) + " ms");

            child.signal("CONT");
            EventRecorder.Seen rejoined = events.awaitType(PeerEvent.Type.JOINED, id, evicted.nanos, Duration.ofSeconds(15));
            assertTrue(!rejoined.event.address().equals(evicted.event.address()), "it came back on a new connection");
            // One connection for it, no flapping: it stays in the table.
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> router.peer(id).isPresent() && events.count(PeerEvent.Type.EVICTED, id) == 1);
            assertEquals(0, events.count(PeerEvent.Type.CONFLICT, id));
            await().atMost(Duration.ofSeconds(5)).until(() -> router.connectionCount() == 1);
        }
    }

    @Test
    void liveIdlePeerIsNeverEvicted() throws Exception {
        Identity id = Identity.of("idler");
        // Sends one message, then only its ZeroMQ I/O thread answers the router's PINGs.
        try (ChildProcess child = ChildProcess.jeromqDealer(router.endpoints().get(0), "idler", 3_600_000)) {
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(30));
            long silentFor = INTERVAL.toMillis() * LIVENESS * 4;
            await().during(Duration.ofMillis(silentFor)).atMost(Duration.ofMillis(silentFor + 2000))
                    .until(() -> events.count(PeerEvent.Type.EVICTED, id) == 0 && router.peer(id).isPresent());
            assertEquals(PeerState.ALIVE, router.peer(id).orElseThrow().state());
            assertTrue(child.isAlive());
        }
    }
}
