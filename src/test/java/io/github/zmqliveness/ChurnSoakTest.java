package io.github.zmqliveness;

import io.github.zmqliveness.support.Facilities;
import io.github.zmqliveness.support.Net;
import io.github.zmqliveness.support.Swarm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * About a thousand plain JeroMQ DEALERs in four processes ({@link Swarm}), talking to one router
 * while the test churns them: clients join and leave, are evicted by the application, move to a
 * new socket without closing the old one, freeze whole (SIGSTOP) and are killed whole (SIGKILL).
 * At the end the router must know exactly the clients that are live, account for every message it
 * accepted, and, once closed, give back the threads, file descriptors and heap it took.
 *
 * <p>The short variant runs with the normal tests (30 s of churn). The long one is tagged
 * {@code soak}; its churn lasts {@code -Dsoak.seconds} (default 600), see the README.
 */
class ChurnSoakTest {
    private static final int SWARMS = 4;
    private static final int SLOTS = 300;
    private static final int INITIAL = 250;
    private static final long TICK_MS = 1000;
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final int LIVENESS = 3;
    /** The documented bound on detecting a dead peer: interval x liveness + interval. */
    private static final long BOUND_NANOS = INTERVAL.toNanos() * (LIVENESS + 1);
    private static final long STEP_MS = 1500;
    /** A freeze lasts at least this long, well past the bound, so the frozen clients must be evicted. */
    private static final long FREEZE_NANOS = BOUND_NANOS + TimeUnit.SECONDS.toNanos(1);

    private static final byte[] BIG = new byte[16 * 1024];

    private static final int FD_MARGIN = 8;
    private static final int THREAD_MARGIN = 2;
    private static final long HEAP_MARGIN = 32L << 20;

    /** Counts events by type and keeps what a check needs, without keeping every event of a long run. */
    private static final class Tally implements PeerListener {
        final Map<PeerEvent.Type, LongAdder> byType = new EnumMap<>(PeerEvent.Type.class);
        final Map<EvictReason, LongAdder> evictedBy = new EnumMap<>(EvictReason.class);
        final Map<Identity, Long> lastEvicted = new ConcurrentHashMap<>();
        final List<PeerEvent> conflicts = new CopyOnWriteArrayList<>();

        Tally() {
            for (PeerEvent.Type t : PeerEvent.Type.values()) {
                byType.put(t, new LongAdder());
            }
            for (EvictReason r : EvictReason.values()) {
                evictedBy.put(r, new LongAdder());
            }
        }

        @Override
        public void onEvent(PeerEvent e) {
            byType.get(e.type()).increment();
            if (e.type() == PeerEvent.Type.EVICTED) {
                evictedBy.get(e.reason()).increment();
                lastEvicted.put(e.identity(), System.nanoTime());
            } else if (e.type() == PeerEvent.Type.CONFLICT) {
                conflicts.add(e);
            }
        }

        long count(PeerEvent.Type t) {
            return byType.get(t).sum();
        }
    }

    private final List<Swarm> swarms = new ArrayList<>();
    private LivenessRouter router;

    @AfterEach
    void stop() throws InterruptedException {
        for (Swarm s : swarms) {
            s.close();
        }
        if (router != null) {
            router.close();
        }
    }

    @Test
    void thousandChurningClientsForHalfAMinuteLeaveAnExactPeerTableABalancedAccountAndNoLeaks() throws Exception {
        churn(Duration.ofSeconds(30));
    }

    @Tag("soak")
    @Test
    void thousandChurningClientsForTheSoakDuration() throws Exception {
        churn(Duration.ofSeconds(Long.getLong("soak.seconds", 600)));
    }

    private void churn(Duration duration) throws Exception {
        Facilities.requireProcFs();
        long seed = Long.getLong("soak.seed", System.nanoTime());
        Random random = new Random(seed);
        System.out.println("churn: " + duration.toSeconds() + " s, seed " + seed + " (-Dsoak.seed to repeat)");

        System.gc();
        int fdsBefore = Net.openFds();
        Set<Thread> threadsBefore = liveThreads();
        long heapBefore = usedHeapAfterGc();

        Tally tally = new Tally();
        Map<SendResult, AtomicLong> sends = new EnumMap<>(SendResult.class);
        for (SendResult r : SendResult.values()) {
            sends.put(r, new AtomicLong());
        }
        AtomicLong handled = new AtomicLong();
        AtomicReference<LivenessRouter> self = new AtomicReference<>();
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(LIVENESS)
                .maxConnections(4 * SWARMS * SLOTS).sendHighWaterMark(50).listener(tally)
                .handler(m -> {
                    handled.incrementAndGet();
                    sends.get(self.get().send(m.identity(), "echo".getBytes())).incrementAndGet();
                }).build();
        self.set(router);
        String endpoint = router.endpoints().get(0);

        for (int i = 0; i < SWARMS; i++) {
            swarms.add(Swarm.start(endpoint, "s" + i, SLOTS, INITIAL, TICK_MS));
        }
        long startedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(60)).until(() -> router.peerCount() == SWARMS * INITIAL);
        System.out.println("churn: " + SWARMS * INITIAL + " clients joined in "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt) + " ms");

        // The application also pushes messages of its own, with a short time to live, to whoever is in the table.
        AtomicBoolean stopPushing = new AtomicBoolean();
        Thread pusher = pusher(sends, stopPushing, new Random(seed + 1));
        pusher.start();

        Swarm joiner = swarms.get(0);  // join/leave, and explicit evictions by the application
        Swarm mover = swarms.get(1);   // takeovers: a new socket with the same identity, the old one left open
        long takeovers = 0;
        long explicitEvictions = 0;
        long frozenAt = 0;
        long slowestFreezeEviction = 0;
        int freezes = 0;
        int kills = 0;
        long churnEnd = System.nanoTime() + duration.toNanos();
        try {
            for (int step = 0; System.nanoTime() < churnEnd; step++) {
                switch (step % 4) {
                    case 0: {
                        int active = joiner.live().size();
                        int k = 1 + random.nextInt(25);
                        boolean join = active < 225 || (active <= 275 && random.nextBoolean());
                        if (join) {
                            joiner.join(k);
                        } else {
                            joiner.leave(k);
                        }
                        List<Identity> live = new ArrayList<>(joiner.live());
                        for (int e = random.nextInt(6); e > 0 && !live.isEmpty(); e--) {
                            if (router.evict(live.remove(random.nextInt(live.size())))) {
                                explicitEvictions++;
                            }
                        }
                        break;
                    }
                    case 1:
                        takeovers += mover.takeover(1 + random.nextInt(10)).size();
                        break;
                    case 2: {
                        Swarm sleepy = swarms.get(2);
                        if (sleepy.state() == Swarm.State.RUNNING) {
                            Set<Identity> victims = sleepy.live(); // those in the table now must all go
                            victims.retainAll(router.peers().stream().map(PeerSnapshot::identity).collect(Collectors.toSet()));
                            sleepy.freeze();
                            frozenAt = System.nanoTime();
                            freezes++;
                            long at = frozenAt;
                            // Messages pile up behind a few of them (past the ~3 MB the kernel and the pipe
                            // absorb): a first half with 200 ms to live expires, the second half can only go
                            // with the eviction.
                            victims.stream().limit(10).forEach(id -> {
                                for (int i = 0; i < 300; i++) {
                                    sends.get(router.send(id, Duration.ofMillis(200), BIG)).incrementAndGet();
                                }
                                for (int i = 0; i < 300; i++) {
                                    sends.get(router.send(id, BIG)).incrementAndGet();
                                }
                            });
                            // Every frozen client is evicted within the bound (none answers a PING).
                            await().atMost(Duration.ofNanos(BOUND_NANOS).plusSeconds(5))
                                    .until(() -> victims.stream().allMatch(id -> tally.lastEvicted.getOrDefault(id, 0L) >= at));
                            long slowest = victims.stream().mapToLong(id -> tally.lastEvicted.get(id) - at).max().orElse(0);
                            slowestFreezeEviction = Math.max(slowestFreezeEviction, slowest);
                        } else if (System.nanoTime() - frozenAt >= FREEZE_NANOS) {
                            sleepy.thaw(); // its clients find their connections shut and come back by themselves
                        }
                        break;
                    }
                    default: {
                        Swarm crashy = swarms.get(3);
                        if (crashy.state() == Swarm.State.RUNNING) {
                            crashy.kill();
                            kills++;
                        } else {
                            swarms.set(3, Swarm.start(endpoint, "s3", SLOTS, INITIAL, TICK_MS)); // same identities, new process
                        }
                        break;
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(STEP_MS)); // the churn's pace, not a wait
            }

            // End state: one group frozen (its clients must be out of the table), the rest running.
            Swarm sleepy = swarms.get(2);
            if (sleepy.state() == Swarm.State.RUNNING) {
                sleepy.freeze();
                freezes++;
            }
            if (swarms.get(3).state() == Swarm.State.KILLED) {
                swarms.set(3, Swarm.start(endpoint, "s3", SLOTS, INITIAL, TICK_MS));
            }
            Set<Identity> expected = new HashSet<>();
            for (Swarm s : swarms) {
                expected.addAll(s.live());
            }
            System.out.println("churn: " + freezes + " freezes (slowest eviction of a frozen client "
                    + TimeUnit.NANOSECONDS.toMillis(slowestFreezeEviction) + " ms, bound " + TimeUnit.NANOSECONDS.toMillis(BOUND_NANOS)
                    + " ms), " + kills + " kills, " + takeovers + " takeovers, " + explicitEvictions + " explicit evictions; "
                    + expected.size() + " clients live at the end");
            assertTrue(slowestFreezeEviction <= BOUND_NANOS, "a frozen client was evicted "
                    + TimeUnit.NANOSECONDS.toMillis(slowestFreezeEviction) + " ms after the freeze; bound " + TimeUnit.NANOSECONDS.toMillis(BOUND_NANOS));

            // The table is exactly the live clients, each on exactly one connection.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                Set<Identity> table = router.peers().stream().map(PeerSnapshot::identity).collect(Collectors.toSet());
                Set<Identity> missing = new HashSet<>(expected);
                missing.removeAll(table);
                Set<Identity> extra = new HashSet<>(table);
                extra.removeAll(expected);
                assertTrue(missing.isEmpty() && extra.isEmpty(), "peer table differs from the live clients: missing "
                        + sample(missing) + " (" + missing.size() + "), extra " + sample(extra) + " (" + extra.size() + ")");
                assertEquals(expected.size(), router.connectionCount(), "connections held beside the live clients");
            });
            assertEquals(0, tally.conflicts.size(), "takeovers and rejoins are never conflicts: " + tally.conflicts);
            assertEquals(takeovers, tally.count(PeerEvent.Type.TOOK_OVER), "one TOOK_OVER per client that moved");
            RouterStats mid = router.stats();
            assertEquals(takeovers, mid.get("zombiesShut"), "every connection left behind by a move was shut by the router");
            assertEquals(explicitEvictions, mid.get("evictedExplicit"));
            assertEquals(0, mid.get("connectionsRefused"));
            assertEquals(0, mid.get("evictionsUnconfirmed"), "every connection the router shut did close");

            // Quiet: nothing new is sent; every accepted message is then written or dropped with a reason,
            // every received one delivered or refused with a reason.
            stopPushing.set(true);
            pusher.join(10_000);
            for (Swarm s : swarms) {
                if (s.state() == Swarm.State.RUNNING) {
                    s.quiet();
                }
            }
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                int queued = router.peers().stream().mapToInt(PeerSnapshot::queuedMessages).sum();
                RouterStats s = router.stats();
                assertEquals(0, queued, "messages still queued");
                assertEquals(s.get("messagesAccepted"), s.messagesSent() + s.get("droppedExpired") + s.get("droppedPeerGone"),
                        "accepted = sent + droppedExpired + droppedPeerGone: " + s);
                assertEquals(sends.get(SendResult.QUEUED).get(), s.get("messagesAccepted"), "every QUEUED result was counted as accepted");
                assertEquals(handled.get(), s.get("messagesDelivered"), "every delivered message reached the handler");
                assertEquals(s.messagesReceived(), s.get("messagesDelivered") + s.get("receivedAfterEviction") + s.get("receivedTooLarge")
                        + s.get("receivedQuarantined"), "every received message was delivered or refused with a reason: " + s);
            });
            RouterStats end = router.stats();
            System.out.println("churn: events " + tally.byType + ", evicted by " + tally.evictedBy);
            System.out.println("churn: sends " + sends);
            System.out.println("churn: " + end);
            assertTrue(end.messagesSent() > 0 && end.get("droppedExpired") > 0 && end.get("droppedPeerGone") > 0,
                    "the run wrote messages, and dropped some as expired and some with their peer: " + end);
        } finally {
            stopPushing.set(true);
            pusher.join(10_000);
        }

        // Closed and its clients gone, the router gives back what it took.
        router.close();
        for (Swarm s : swarms) {
            s.close();
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            int fds = Net.openFds();
            assertTrue(fds <= fdsBefore + FD_MARGIN, "file descriptors: " + fdsBefore + " before, " + fds + " after (margin " + FD_MARGIN + ")");
            List<String> extra = newThreads(threadsBefore);
            assertTrue(extra.size() <= THREAD_MARGIN && extra.stream().noneMatch(ChurnSoakTest::ours),
                    "threads left behind: " + extra + " (margin " + THREAD_MARGIN + ", none of the router's or JeroMQ's)");
        });
        long heapAfter = usedHeapAfterGc();
        System.out.println("churn: heap used " + (heapBefore >> 20) + " MiB before, " + (heapAfter >> 20) + " MiB after close and GC; fds "
                + fdsBefore + " -> " + Net.openFds());
        assertTrue(heapAfter <= heapBefore + HEAP_MARGIN, "heap used " + (heapBefore >> 20) + " MiB before, " + (heapAfter >> 20)
                + " MiB after close and GC (margin " + (HEAP_MARGIN >> 20) + " MiB)");
    }

    /** Sends 1 KiB messages with a 500 ms time to live to random peers of the table, about 500 a second. */
    private Thread pusher(Map<SendResult, AtomicLong> sends, AtomicBoolean stop, Random random) {
        Thread t = new Thread(() -> {
            byte[] payload = new byte[1024];
            List<Identity> targets = new ArrayList<>();
            long refreshed = 0;
            while (!stop.get()) {
                long now = System.nanoTime();
                if (now - refreshed > TimeUnit.SECONDS.toNanos(1)) {
                    targets = router.peers().stream().map(PeerSnapshot::identity).collect(Collectors.toList());
                    refreshed = now;
                }
                for (int i = 0; i < 10 && !targets.isEmpty(); i++) {
                    Identity id = targets.get(random.nextInt(targets.size()));
                    sends.get(router.send(id, Duration.ofMillis(500), payload)).incrementAndGet();
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // the application's pace, not a wait
            }
        }, "soak-pusher");
        t.setDaemon(true);
        return t;
    }

    private static Set<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).collect(Collectors.toSet());
    }

    /** Threads started since {@code before} and still alive, but for the JDK's process reapers (they idle out after 60 s). */
    private static List<String> newThreads(Set<Thread> before) {
        return liveThreads().stream().filter(t -> !before.contains(t)).map(Thread::getName)
                .filter(n -> !n.equals("process reaper")).sorted().collect(Collectors.toList());
    }

    private static boolean ours(String name) {
        return name.startsWith("zmq-liveness") || name.startsWith("reaper") || name.startsWith("iothread") || name.startsWith("child-")
                || name.startsWith("soak-");
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static String sample(Set<Identity> ids) {
        return ids.stream().limit(5).map(Identity::toString).collect(Collectors.toList()).toString();
    }
}
