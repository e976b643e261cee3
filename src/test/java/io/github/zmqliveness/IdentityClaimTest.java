package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Without CURVE anyone who reaches the port can name any identity. A stranger that uses a live protocol client's
 * routing id must not get it stopped, quarantined or its session ended, and must not speak in its name.
 */
class IdentityClaimTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);

    @Test
    void aStrangerUsingALiveClientsIdentityIsRefusedAndTheClientKeepsItsSession() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity victimId = Identity.of("victim");
        List<ClientEvent> victimEvents = new CopyOnWriteArrayList<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .listener(events).build();
             DealerClient victim = DealerClient.builder().identity("victim").connect(router.endpoints().get(0))
                     .heartbeat(INTERVAL, 3).listener(victimEvents::add).build();
             ZContext ctx = Dealers.context()) {
            await().atMost(Duration.ofSeconds(20)).until(() -> victim.state() == ClientState.READY);
            Session session = router.peer(victimId).orElseThrow().session();

            // The stranger: a plain DEALER under the victim's routing id, sending every 300 ms, reconnecting when shut.
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger strangerGot = new AtomicInteger();
            Thread stranger = new Thread(() -> {
                ZMQ.Socket s = Dealers.connect(ctx, "victim", router.endpoints().get(0));
                int n = 0;
                while (!stop.get()) {
                    s.send(("steal-" + n++).getBytes(StandardCharsets.UTF_8), ZMQ.DONTWAIT);
                    long until = System.nanoTime() + 300_000_000L;
                    while (System.nanoTime() < until) { // the stranger's own pace, reading what it is sent
                        if (s.recv(ZMQ.DONTWAIT) != null) {
                            strangerGot.incrementAndGet();
                        } else {
                            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                        }
                    }
                }
                ctx.destroySocket(s);
            }, "stranger");
            stranger.start();
            List<String> fromApp = new ArrayList<>();
            try {
                // The application goes on sending to the identity and reading what arrives, for 4 s.
                long end = System.nanoTime() + 4_000_000_000L;
                int n = 0;
                while (System.nanoTime() < end) {
                    router.send(victimId, ("v-" + n++).getBytes(StandardCharsets.UTF_8));
                    Message m = router.receive(Duration.ofMillis(100));
                    if (m != null) {
                        fromApp.add(new String(m.first(), StandardCharsets.UTF_8));
                    }
                }
            } finally {
                stop.set(true);
                stranger.join(5_000);
            }
            long refused = router.stats().get("refusedIdentityInUse");
            System.out.println("stranger refused " + refused + " times; it was written " + strangerGot.get()
                    + " messages in the windows between its handshake and its first message; victim events " + victimEvents);
            assertTrue(refused >= 3, "the stranger kept coming and was refused each time: " + refused);
            assertEquals(0, router.stats().conflicts(), "no conflict, no quarantine on a stranger's say-so");
            assertTrue(fromApp.stream().noneMatch(t -> t.startsWith("steal-")), "the stranger never spoke as the victim: " + fromApp);
            assertTrue(victimEvents.stream().noneMatch(e -> e.type() == ClientEvent.Type.STOPPED
                    || e.reason() == ClientEvent.Reason.CONFLICT), "the victim was neither stopped nor told CONFLICT: " + victimEvents);
            await().atMost(Duration.ofSeconds(10)).until(() -> victim.state() == ClientState.READY && router.peer(victimId).isPresent());
            assertEquals(session, router.peer(victimId).orElseThrow().session(), "the victim's session, never ended");
            // A stranger that keeps cutting it off for the whole liveness bound gets it evicted, as any silence would
            // (only CURVE stops that); its session is parked, never ended, and resumed each time.
            for (PeerEvent e : events.of(victimId)) {
                assertTrue(e.type() != PeerEvent.Type.SESSION_ENDED && e.type() != PeerEvent.Type.CONFLICT
                        && e.type() != PeerEvent.Type.SESSION_STARTED || e == events.of(victimId).get(1), "victim: " + events.of(victimId));
            }
            for (ClientEvent e : victimEvents) {
                assertTrue(e.type() != ClientEvent.Type.REJOINED || e.resumed(), "every return resumed the session: " + victimEvents);
            }
            SendResult sent = router.send(victimId, "last".getBytes(StandardCharsets.UTF_8));
            String last = null;
            for (int i = 0; i < 1000 && !"last".equals(last); i++) { // what was held for it comes first
                Message m = victim.receive(Duration.ofSeconds(10));
                if (m == null) {
                    break;
                }
                last = new String(m.first(), StandardCharsets.UTF_8);
            }
            assertEquals("last", last, "sent: " + sent + "; victim " + victim.state() + " " + victim.counters() + "; router "
                    + router.stats() + "; events " + events.of(victimId));
        }
    }
}
