package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A router under load is closed and a new one started on the same port, as in a deploy: every
 * client must come back by itself within a bound, and on each router every message {@code send}
 * accepted must be accounted for, as written or as dropped with a reason, nothing vanishing
 * between the counters. The run also drives the two ways a message dies before the restart (its
 * time to live runs out behind a frozen client; its peer is evicted), so every term of the
 * balance is exercised.
 */
class RouterRestartAccountingTest {
    /** The default: this test is about accounting, not detection speed, and 21 client processes load two cores. */
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final int JEROMQ_CLIENTS = 10;
    private static final int LIBZMQ_CLIENTS = 10;
    /** From the new router's bind to each client's first message on it; clients retry every 50 ms. */
    private static final Duration REJOIN_BOUND = Duration.ofSeconds(10);
    private static final byte[] BIG = new byte[32 * 1024];

    private final List<ChildProcess> clients = new ArrayList<>();
    private final List<LivenessRouter> routers = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (ChildProcess c : clients) {
            c.close();
        }
        routers.forEach(LivenessRouter::close);
    }

    @Test
    void routerRestartedOnItsPortUnderLoadIsRejoinedByEveryClientAndAccountsForEveryAcceptedMessage() throws Exception {
        Facilities.requirePyzmq();
        EventRecorder eventsA = new EventRecorder();
        EventRecorder eventsB = new EventRecorder();
        AtomicLong handledA = new AtomicLong();
        AtomicLong handledB = new AtomicLong();
        LivenessRouter a = router("tcp://127.0.0.1:*", eventsA, handledA);
        String endpoint = a.endpoints().get(0);

        List<Identity> ids = new ArrayList<>();
        for (int i = 0; i < JEROMQ_CLIENTS + LIBZMQ_CLIENTS; i++) {
            String name = (i < JEROMQ_CLIENTS ? "jeromq-" : "libzmq-") + i;
            ids.add(Identity.of(name));
            clients.add(i < JEROMQ_CLIENTS ? ChildProcess.jeromqDealer(endpoint, name, 20) : ChildProcess.libzmqDealer(endpoint, name, 20));
        }
        Identity sleeperId = Identity.of("sleeper");
        ChildProcess sleeper = ChildProcess.jeromqDealer(endpoint, "sleeper", 20);
        clients.add(sleeper);
        List<Identity> everyone = new ArrayList<>(ids);
        everyone.add(sleeperId);
        for (Identity id : everyone) {
            eventsA.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(60));
        }

        // Load: every client sends a tick every 20 ms; the router sends each of them one message every 10 ms.
        Map<LivenessRouter, Map<SendResult, AtomicLong>> results = new ConcurrentHashMap<>();
        AtomicReference<LivenessRouter> current = new AtomicReference<>(a);
        AtomicBoolean stop = new AtomicBoolean();
        Thread sender = new Thread(() -> {
            long seq = 0;
            while (!stop.get()) {
                LivenessRouter r = current.get();
                String tag = r == a ? "A " : "B ";
                for (Identity id : everyone) {
                    tally(results, r, r.send(id, (tag + seq++).getBytes()));
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // the sender's pace, not a wait
            }
        }, "restart-test-sender");
        sender.start();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> a.stats().messagesSent() > 2_000 && a.stats().messagesReceived() > 2_000);

            // A frozen client: large messages pile up behind it (past the few MB the kernel and the pipe
            // absorb); the first with 100 ms to live expire, the rest can only be dropped when it is
            // evicted; then it wakes and rejoins.
            sleeper.signal("STOP");
            long frozenAt = System.nanoTime();
            for (int i = 0; i < 400; i++) {
                tally(results, a, a.send(sleeperId, Duration.ofMillis(100), BIG));
            }
            for (int i = 0; i < 300; i++) {
                tally(results, a, a.send(sleeperId, BIG));
            }
            EventRecorder.Seen evicted = eventsA.awaitEvicted(sleeperId, frozenAt, Duration.ofSeconds(10));
            sleeper.signal("CONT");
            eventsA.awaitType(PeerEvent.Type.JOINED, sleeperId, evicted.nanos, Duration.ofSeconds(15));
            assertTrue(a.stats().get("droppedExpired") > 0, "messages behind the frozen client expired: " + a.stats());
            assertTrue(a.stats().get("droppedPeerGone") > 0, "messages queued for the evicted client were dropped: " + a.stats());

            // The restart, under full load in both directions.
            a.close();
            long closedAt = System.nanoTime();
            LivenessRouter b = router(endpoint, eventsB, handledB);
            long boundAt = System.nanoTime();
            assertEquals(endpoint, b.endpoints().get(0), "the new router has the old one's port");
            current.set(b);

            long slowest = 0;
            for (Identity id : everyone) {
                EventRecorder.Seen joined = eventsB.awaitType(PeerEvent.Type.JOINED, id, 0, REJOIN_BOUND.plusSeconds(5));
                slowest = Math.max(slowest, joined.nanos - boundAt);
            }
            System.out.println("restart: the new router was bound " + TimeUnit.NANOSECONDS.toMillis(boundAt - closedAt)
                    + " ms after close returned; the last of " + everyone.size() + " clients rejoined "
                    + TimeUnit.NANOSECONDS.toMillis(slowest) + " ms after the bind");
            assertTrue(slowest <= REJOIN_BOUND.toNanos(), "a client took " + TimeUnit.NANOSECONDS.toMillis(slowest)
                    + " ms to rejoin; bound " + REJOIN_BOUND.toMillis() + " ms");
            for (ChildProcess c : clients) {
                c.awaitLine("reply B ", Duration.ofSeconds(10)); // and the new router's messages reach each of them
            }
            assertEquals(everyone.size(), b.peerCount());
            assertEquals(0, b.stats().evictions(), "nobody was evicted from the new router: " + b.stats());
        } finally {
            stop.set(true);
            sender.join(10_000);
        }

        LivenessRouter b = current.get();
        await().atMost(Duration.ofSeconds(10)).until(() -> b.peers().stream().mapToInt(PeerSnapshot::queuedMessages).sum() == 0);
        b.close();
        System.out.println("restart: old router " + a.stats());
        System.out.println("restart: new router " + b.stats());
        assertBalanced("old router", a, results, handledA);
        assertBalanced("new router", b, results, handledB);
    }

    private LivenessRouter router(String endpoint, EventRecorder events, AtomicLong handled) {
        LivenessRouter r = LivenessRouter.builder().bind(endpoint).heartbeatInterval(INTERVAL).liveness(3).listener(events)
                .sendHighWaterMark(10).maxConnections(1024).handler(m -> handled.incrementAndGet()).build();
        routers.add(r);
        return r;
    }

    private static void tally(Map<LivenessRouter, Map<SendResult, AtomicLong>> results, LivenessRouter r, SendResult result) {
        results.computeIfAbsent(r, k -> {
            Map<SendResult, AtomicLong> m = new EnumMap<>(SendResult.class);
            for (SendResult s : SendResult.values()) {
                m.put(s, new AtomicLong());
            }
            return m;
        }).get(result).incrementAndGet();
    }

    /** Closed, so nothing is queued: every accepted message was written or dropped with a reason. */
    private static void assertBalanced(String which, LivenessRouter r, Map<LivenessRouter, Map<SendResult, AtomicLong>> results,
                                       AtomicLong handled) {
        RouterStats s = r.stats();
        long accepted = s.get("messagesAccepted");
        assertEquals(results.get(r).get(SendResult.QUEUED).get(), accepted, which + ": every QUEUED result is counted as accepted");
        assertEquals(accepted, s.messagesSent() + s.get("droppedExpired") + s.get("droppedPeerGone"),
                which + ": accepted = sent + droppedExpired + droppedPeerGone: " + s);
        assertEquals(handled.get(), s.get("messagesDelivered"), which + ": every delivered message reached the handler");
        assertEquals(s.messagesReceived(), s.get("messagesDelivered") + s.get("receivedAfterEviction") + s.get("receivedTooLarge")
                + s.get("receivedQuarantined"), which + ": every received message was delivered or refused with a reason: " + s);
        assertEquals(0, s.conflicts(), which);
        assertEquals(0, s.get("connectionsRefused"), which);
    }
}
