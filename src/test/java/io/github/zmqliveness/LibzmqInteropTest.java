package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real libzmq 4.3 DEALERs (Debian's python3-zmq) in their own processes, with no protocol of ours. */
class LibzmqInteropTest {
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final long BOUND_NANOS = INTERVAL.toNanos() * 4;

    private final EventRecorder events = new EventRecorder();
    private final List<Message> received = new CopyOnWriteArrayList<>();
    private LivenessRouter router;

    @BeforeEach
    void start() {
        Facilities.requirePyzmq();
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3).listener(events)
                .handler(m -> {
                    received.add(m);
                    router.send(m.identity(), m.frames()); // echo, as the CLI's --echo does
                }).build();
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    @Test
    void plainLibzmqDealerIsTrackedEchoedAndEvictedWhenKilled() throws Exception {
        Identity id = Identity.of("py-plain");
        try (ChildProcess py = ChildProcess.libzmqDealer(router.endpoints().get(0), "py-plain", 100)) {
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(20));
            py.awaitLine("reply tick", Duration.ofSeconds(10));
            Message first = received.stream().filter(m -> m.identity().equals(id)).findFirst().orElseThrow();
            assertEquals(1, first.frames().size());
            assertEquals("tick 0", new String(first.first(), StandardCharsets.UTF_8));
            assertFalse(router.peer(id).orElseThrow().heartbeating());

            long killedAt = System.nanoTime();
            py.kill();
            EventRecorder.Seen evicted = events.awaitEvicted(id, killedAt, Duration.ofSeconds(10));
            assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason());
        }
    }

    @Test
    void delimiterFramesFromLibzmqArriveUnchanged() throws Exception {
        Identity id = Identity.of("py-delim");
        try (ChildProcess py = ChildProcess.libzmqDealer(router.endpoints().get(0), "py-delim", 100, "--delimiter")) {
            py.awaitLine("reply", Duration.ofSeconds(20));
            Message m = received.stream().filter(x -> x.identity().equals(id)).findFirst().orElseThrow();
            assertEquals(2, m.frames().size());
            assertArrayEquals(new byte[0], m.frames().get(0));
            assertEquals("tick 0", new String(m.frames().get(1), StandardCharsets.UTF_8));
            assertTrue(py.lines().stream().anyMatch(l -> l.equals("reply  | tick 0")), "echoed with its delimiter: " + py.lines());
        }
    }

    @Test
    void stoppedLibzmqProcessIsEvictedWithinTheBoundAndRejoinsWhenResumed() throws Exception {
        Identity id = Identity.of("py-hb");
        try (ChildProcess py = ChildProcess.libzmqDealer(router.endpoints().get(0), "py-hb", 100, "--zmtp-heartbeat", "300")) {
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(20));
            py.signal("STOP");
            long stoppedAt = System.nanoTime();
            EventRecorder.Seen evicted = events.awaitEvicted(id, stoppedAt, Duration.ofSeconds(10));
            long delay = evicted.nanos - stoppedAt;
            assertTrue(delay <= BOUND_NANOS, "evicted after " + TimeUnit.NANOSECONDS.toMillis(delay) + " ms");
            py.signal("CONT");
            events.awaitType(PeerEvent.Type.JOINED, id, evicted.nanos, Duration.ofSeconds(15));
            await().atMost(Duration.ofSeconds(5)).until(() -> router.connectionCount() == 1);
            assertEquals(0, events.count(PeerEvent.Type.CONFLICT, id));
        }
    }

    @Test
    void libzmqDealerWithoutIdentityIsServed() throws Exception {
        try (ChildProcess py = ChildProcess.libzmqDealer(router.endpoints().get(0), "-", 100, "--no-identity")) {
            py.awaitLine("reply tick", Duration.ofSeconds(20));
            assertTrue(received.stream().anyMatch(m -> m.identity().isGenerated()));
            assertTrue(router.stats().get("receivedAnonymous") > 0);
        }
    }
}
