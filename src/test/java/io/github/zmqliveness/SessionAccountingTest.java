package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Churn with protocol clients through every way a session can end (goodbye, crash and resume, crash and expiry,
 * replacement by a new instance once the old connection is given up, a refused claim, a conflict and its
 * quarantine), with the router
 * sending all the while: afterwards both sides' counters balance (RouterStats and DealerClient, "Accounting").
 */
class SessionAccountingTest {
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final int IDENTITIES = 6;
    private static final int ROUNDS = 5;

    @Test
    void churnWithProtocolClientsBalancesBothSides() throws Exception {
        EventRecorder events = new EventRecorder();
        AtomicReference<LivenessRouter> self = new AtomicReference<>();
        LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .resumeWindow(Duration.ofSeconds(3)).sendHighWaterMark(20).conflictPolicy(2, Duration.ofSeconds(10), Duration.ofSeconds(30))
                .listener(events).handler(m -> self.get().reply(m, m.frames())).build();
        self.set(router);
        String endpoint = router.endpoints().get(0);
        List<Identity> ids = new ArrayList<>();
        for (int i = 0; i < IDENTITIES; i++) {
            ids.add(Identity.of("c-" + i));
        }
        ids.add(Identity.of("twin"));
        ids.add(Identity.of("plain-twin"));
        // The application pushes to every identity all along, whoever holds it: queued, parked, refused or written.
        AtomicBoolean pushing = new AtomicBoolean(true);
        Thread pusher = new Thread(() -> {
            byte[] push = new byte[512];
            while (pushing.get()) {
                for (Identity id : ids) {
                    router.send(id, push);
                }
                LockSupport.parkNanos(2_000_000);
            }
        }, "pusher");
        pusher.start();

        Map<String, Long> clientTotals = new HashMap<>();
        Map<Identity, byte[]> crashedInstance = new HashMap<>();
        try {
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < IDENTITIES; i++) {
                    String name = "c-" + i;
                    switch ((round + i) % 5) {
                        case 0: // a client that says goodbye
                            try (DealerClient c = client(name, endpoint, true)) {
                                exchange(c, 20);
                                add(clientTotals, c.counters());
                            }
                            break;
                        case 1: // a raw protocol client that floods without reading and crashes: its session is parked
                            crashedInstance.put(Identity.of(name), crash(name, null, endpoint, 300));
                            break;
                        case 2: // the same instance comes back in time and resumes; then it crashes again
                            byte[] instance = crashedInstance.remove(Identity.of(name));
                            crash(name, instance, endpoint, 50);
                            break;
                        case 3: { // a new instance comes while the old connection still stands: refused until the old one
                                  // is given up (heard nothing for interval x liveness), then it takes over
                            try (ZContext old = Dealers.context()) {
                                flood(old, name, random(), endpoint, 300);
                                try (DealerClient c = client(name, endpoint, false)) {
                                    exchange(c, 10);
                                    add(clientTotals, c.counters());
                                }
                            }
                            break;
                        }
                        default: // nobody: a parked session expires
                            break;
                    }
                }
            }
            // A second instance claiming a live client's identity is refused; told CONFLICT, it stops if so configured.
            try (DealerClient a = client("twin", endpoint, true)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> a.state() == ClientState.READY);
                try (DealerClient b = DealerClient.builder().identity("twin").connect(endpoint).heartbeat(INTERVAL, 3)
                        .stopOnConflict(true).build()) {
                    await().atMost(Duration.ofSeconds(30)).until(() -> b.state() == ClientState.STOPPED);
                    add(clientTotals, b.counters());
                }
                add(clientTotals, a.counters());
            }
            // Two plain DEALERs fighting over one identity: a conflict, and its quarantine.
            try (ZContext ctxA = Dealers.context(); ZContext ctxB = Dealers.context()) {
                ZMQ.Socket x = Dealers.connect(ctxA, "plain-twin", endpoint);
                ZMQ.Socket y = Dealers.connect(ctxB, "plain-twin", endpoint);
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(30)).until(() -> {
                    x.send("x", ZMQ.DONTWAIT);
                    y.send("y", ZMQ.DONTWAIT);
                    while (x.recv(ZMQ.DONTWAIT) != null || y.recv(ZMQ.DONTWAIT) != null) {
                        // echoes: read and forgotten
                    }
                    return router.stats().conflicts() > 0;
                });
            }
            // The last round left sessions parked with messages for them (its crashes): their window (3 s) ends.
            await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().get("droppedResumeExpired") > 0);
        } finally {
            pushing.set(false);
            pusher.join();
        }
        RouterStats running = router.stats();
        router.close();
        RouterStats stats = router.stats();
        System.out.println("session accounting: router " + stats + "\nclients " + clientTotals);

        // Every path was taken.
        assertTrue(stats.get("sessionsResumed") > 0, "resumed: " + running);
        assertTrue(stats.get("droppedStaleSession") > 0, "stale: " + running);
        assertTrue(stats.get("droppedResumeExpired") > 0, "resume window ended: " + running);
        assertTrue(stats.get("droppedConflict") + stats.get("droppedQuarantined") > 0, "conflict: " + running);
        assertTrue(stats.get("droppedOnClose") > 0 || running.acceptedPending() == 0, "close: " + running);

        // The router's two balances (RouterStats, "Accounting").
        assertEquals(0, stats.receivedUnaccounted(), "received = delivered + commands + dropped by reason: " + stats);
        assertEquals(0, stats.acceptedPending(), "accepted = written + dropped by reason, nothing queued after close: " + stats);
        assertTrue(stats.messagesSent() > 0 && stats.get("messagesDelivered") > 0, stats.toString());

        // The clients' balance (DealerClient#counters).
        assertEquals(clientTotals.get("receivedTotal"), clientTotals.get("messagesReceived") + clientTotals.get("receivedStale")
                + clientTotals.get("receivedMalformed") + clientTotals.get("commandsReceived") + clientTotals.get("droppedOnClose"),
                "received = delivered + stale + malformed + commands: " + clientTotals);
        assertTrue(clientTotals.get("commandsReceived") > 0 && clientTotals.get("messagesReceived") > 0, clientTotals.toString());
    }

    private static DealerClient client(String name, String endpoint, boolean resume) {
        return DealerClient.builder().identity(name).connect(endpoint).heartbeat(INTERVAL, 3).resume(resume)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(300), 2).build();
    }

    /** Sends {@code n} requests once ready and reads until their echoes are in (and whatever the pusher sent). */
    private static void exchange(DealerClient c, int n) throws InterruptedException {
        await().atMost(Duration.ofSeconds(20)).until(() -> c.state() == ClientState.READY);
        for (int k = 0; k < n; k++) {
            c.send(("req " + k).getBytes(StandardCharsets.UTF_8));
        }
        int echoes = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (echoes < n && System.nanoTime() < deadline) {
            Message m = c.receive(Duration.ofSeconds(1));
            if (m != null && new String(m.first(), StandardCharsets.UTF_8).startsWith("req ")) {
                echoes++;
            }
        }
        assertEquals(n, echoes, "echoes for " + c.counters());
    }

    private static byte[] random() {
        byte[] instance = new byte[16];
        new SecureRandom().nextBytes(instance);
        return instance;
    }

    /** A raw protocol client (resuming {@code instance} if not null) that floods, reads nothing, and is killed. */
    private static byte[] crash(String name, byte[] instance, String endpoint, int count) {
        byte[] id = instance == null ? random() : instance;
        try (ZContext ctx = Dealers.context()) {
            flood(ctx, name, id, endpoint, count);
        } // closed without a goodbye: a crash
        return id;
    }

    private static void flood(ZContext ctx, String name, byte[] instance, String endpoint, int count) {
        Dealers.Opened opened = Dealers.protocolClient(ctx, name, Command.hello(instance, 1, Command.FLAG_RESUME).encode(), endpoint, 10);
        ZMQ.Socket s = opened.socket;
        byte[] welcome = opened.first;
        assertNotNull(welcome, name + ": no WELCOME");
        byte[] payload = new byte[1024];
        payload[0] = 'o';
        for (int k = 0; k < count; k++) {
            s.send(payload, ZMQ.DONTWAIT);
        }
    }

    private static void add(Map<String, Long> totals, Map<String, Long> counters) {
        counters.forEach((k, v) -> totals.merge(k, v, Long::sum));
    }
}
