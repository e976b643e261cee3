package io.github.zmqliveness;

import io.github.zmqliveness.cli.TcpProxy;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A peer behind a link that freezes (both TCP connections stay open, no byte moves) must be
 * evicted within interval x liveness + one interval, every time.
 */
class FrozenPeerEvictionTest {
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final int LIVENESS = 3;
    private static final long BOUND_NANOS = INTERVAL.toNanos() * (LIVENESS + 1);
    private static final int TRIALS = 20;

    private final EventRecorder events = new EventRecorder();
    private LivenessRouter router;
    private ZContext ctx;

    @BeforeEach
    void start() {
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(LIVENESS)
                .listener(events).build();
        ctx = Dealers.context();
    }

    @AfterEach
    void stop() {
        ctx.close();
        router.close();
    }

    @Test
    void frozenPeerIsEvictedWithinTheBoundInEveryTrial() throws Exception {
        List<Long> delaysMs = new ArrayList<>();
        for (int trial = 0; trial < TRIALS; trial++) {
            Identity id = Identity.of("frozen-" + trial);
            try (TcpProxy proxy = TcpProxy.to(router.endpoints().get(0))) {
                ZMQ.Socket dealer = Dealers.connect(ctx, id.toString(), proxy.endpoint());
                dealer.send("hello");
                events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(10));

                proxy.freeze();
                long frozenAt = System.nanoTime();
                EventRecorder.Seen evicted = events.awaitEvicted(id, frozenAt, Duration.ofSeconds(10));
                long delay = evicted.nanos - frozenAt;
                delaysMs.add(TimeUnit.NANOSECONDS.toMillis(delay));
                assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason(), "a frozen raw peer is reaped by the ZMTP heartbeat");
                assertTrue(delay <= BOUND_NANOS, "trial " + trial + ": evicted after " + TimeUnit.NANOSECONDS.toMillis(delay)
                        + " ms, bound " + TimeUnit.NANOSECONDS.toMillis(BOUND_NANOS) + " ms; all so far " + delaysMs);
                assertTrue(router.peer(id).isEmpty(), "the evicted identity has left the table");
                ctx.destroySocket(dealer);
            }
        }
        Collections.sort(delaysMs);
        System.out.println("frozen peer eviction over " + TRIALS + " trials (ms): min " + delaysMs.get(0) + " median "
                + delaysMs.get(TRIALS / 2) + " max " + delaysMs.get(TRIALS - 1) + " bound " + TimeUnit.NANOSECONDS.toMillis(BOUND_NANOS));
        assertEquals(0, router.peerCount());
    }
}
