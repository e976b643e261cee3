package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.Closer;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The router's own pauses are not its peers' fault: silence it could not hear does not get live peers suspected or
 * evicted, and a stall of an interval or more is reported.
 */
class StallTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);
    private static final int RAW_PEERS = 3;
    private static final int PLAIN_PEERS = 3;
    private static final int CLIENTS = 10;

    /** One thread per peer: its socket is made and used there alone, and a slow handshake of one delays no other. */
    private final List<ScheduledExecutorService> peers = new CopyOnWriteArrayList<>();
    private final ZContext ctx = Dealers.context();

    /** The DealerClients a test starts (closed after it). */
    private final Closer closer = new Closer();

    @AfterEach
    void stop() throws Exception {
        closer.close();
        for (ScheduledExecutorService p : peers) {
            p.shutdownNow();
            p.awaitTermination(5, TimeUnit.SECONDS);
        }
        ctx.close();
    }

    /**
     * Raw protocol peers that heartbeat every half interval and plain DEALERs that send a tick as often, each on a thread
     * of its own from the moment it is connected: peers that are alive all along, whatever the router does.
     */
    private List<Identity> startLivePeers(String endpoint) {
        List<Identity> ids = new ArrayList<>();
        for (int i = 0; i < RAW_PEERS + PLAIN_PEERS; i++) {
            boolean zlp = i < RAW_PEERS;
            String name = zlp ? "zlp-" + i : "plain-" + (i - RAW_PEERS);
            byte[] instance = new byte[16];
            instance[0] = (byte) (i + 1);
            byte[] beat = zlp ? Command.heartbeatFrame() : "tick".getBytes();
            ScheduledExecutorService peer = Executors.newSingleThreadScheduledExecutor();
            peers.add(peer);
            ZMQ.Socket[] socket = new ZMQ.Socket[1];
            peer.execute(() -> {
                if (zlp) {
                    Dealers.Opened o = Dealers.protocolClient(ctx, name, Command.hello(instance, 1, 0).encode(), endpoint, 1000);
                    socket[0] = o.socket;
                } else {
                    socket[0] = Dealers.connect(ctx, name, endpoint);
                }
            });
            peer.scheduleAtFixedRate(() -> {
                socket[0].send(beat, ZMQ.DONTWAIT);
                while (socket[0].recv(ZMQ.DONTWAIT) != null) {
                    // what the router sends: read and forgotten
                }
            }, 0, INTERVAL.toMillis() / 2, TimeUnit.MILLISECONDS);
            ids.add(Identity.of(name));
        }
        return ids;
    }

    private static void assertNobodyDisturbed(EventRecorder events, List<Identity> ids) {
        for (Identity id : ids) {
            List<PeerEvent.Type> seen = new ArrayList<>();
            events.of(id).forEach(e -> seen.add(e.type()));
            assertTrue(!seen.contains(PeerEvent.Type.SUSPECT) && !seen.contains(PeerEvent.Type.EVICTED), id + ": " + seen + "\n"
                    + events.of(id).stream().map(PeerEvent::toString).collect(java.util.stream.Collectors.joining("\n")));
        }
    }

    @Test
    void aHandlerThatBlocksTheLoopForThreeSecondsGetsNoLivePeerSuspectedOrEvicted() throws Exception {
        EventRecorder events = new EventRecorder();
        List<DealerClient> clients = new ArrayList<>();
        CountDownLatch never = new CountDownLatch(1);
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .listener(events).handler(m -> {
                    if ("block".equals(new String(m.first()))) {
                        try {
                            never.await(3, TimeUnit.SECONDS); // the application's handler waits on a slow database
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }).build()) {
            List<Identity> ids = startLivePeers(router.endpoints().get(0));
            for (int i = 0; i < 2; i++) {
                clients.add(closer.keep(DealerClient.builder().identity("client-" + i).connect(router.endpoints().get(0))
                        .heartbeat(INTERVAL, 3).build()));
                ids.add(Identity.of("client-" + i));
            }
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertEquals(ids.size(), router.peerCount(), router.peers()
                    + " " + events.events()));
            Dealers.connect(ctx, "blocker", router.endpoints().get(0)).send("block");
            await().atMost(Duration.ofSeconds(20)).until(() -> !events.stalls.isEmpty());
            // A few intervals after the stall: still nobody suspected or evicted.
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertNobodyDisturbed(events, ids));
            Stall stall = events.stalls.get(0);
            assertTrue(stall.duration().toMillis() >= 2_500, stall.toString());
            assertTrue(stall.peersCovered() >= RAW_PEERS, "the protocol peers' deadlines fell in the stall: " + stall);
            assertEquals(1, events.stalls.size(), "one stall: " + events.stalls);
            assertTrue(router.stats().get("stalls") >= 1 && router.stats().get("stalledMillis") >= 2_500, router.stats().toString());
            // The clients gave up on the silent router meanwhile and came back on new connections, in their sessions.
            await().atMost(Duration.ofSeconds(15)).until(() -> clients.stream().allMatch(c -> c.state() == ClientState.READY));
            assertNobodyDisturbed(events, ids);
        }
    }

    @Test
    void anApplicationThatStopsCallingReceiveForThreeSecondsGetsNoLivePeerSuspectedOrEvicted() throws Exception {
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .receiveQueueCapacity(10).listener(events).build()) {
            List<Identity> ids = startLivePeers(router.endpoints().get(0));
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertEquals(ids.size(), router.peerCount(), router.peers()
                    + " " + events.events()));
            ZMQ.Socket leaver = Dealers.connect(ctx, "leaver", router.endpoints().get(0));
            leaver.send("hello");
            await().atMost(Duration.ofSeconds(20)).until(() -> router.peer(Identity.of("leaver")).isPresent());
            // The plain peers' ticks fill the receive queue: reading pauses; nobody calls receive() for 3 s.
            long pausedAt = System.nanoTime();
            await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(1)).until(() -> true);
            ctx.destroySocket(leaver); // really gone, while the router is not reading
            await().pollDelay(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(3)).until(() -> true);
            assertTrue(events.stalls.isEmpty(), "not noticed until reading resumes");
            // The application comes back and drains what waits, as fast as it can.
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                while (router.receive(Duration.ofMillis(1)) != null) {
                    // drained
                }
                return !events.stalls.isEmpty();
            });
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                while (router.receive(Duration.ofMillis(1)) != null) {
                    // keeps draining
                }
                assertNobodyDisturbed(events, ids);
            });
            // The one that really left is evicted, and the event says it came to light during the stall.
            PeerEvent left = events.awaitEvicted(Identity.of("leaver"), 0, Duration.ofSeconds(10)).event;
            assertEquals(EvictReason.TRANSPORT_LOST, left.reason());
            assertTrue(left.duringStall(), left.toString());
            assertTrue(events.stalls.get(0).duration().toNanos() >= TimeUnit.SECONDS.toNanos(2),
                    "the paused reading counts as a stall: " + events.stalls + " after " + (System.nanoTime() - pausedAt) / 1_000_000 + " ms");
        }
    }

    @Test
    void aFullReceiveQueuePausesDeliveryNotLivenessClientsStayConnectedAndNothingIsLost() throws Exception {
        EventRecorder events = new EventRecorder();
        List<ClientEvent> clientEvents = new CopyOnWriteArrayList<>();
        List<DealerClient> clients = new ArrayList<>();
        // Room for 80 in the queue: the peers send about 34 messages a second, so it is full about 2.4 s after the
        // application goes away, and the backlog behind it (80 more) holds the rest of the 4 s.
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .receiveQueueCapacity(80).listener(events).build()) {
            String endpoint = router.endpoints().get(0);
            List<Identity> ids = startLivePeers(endpoint);
            for (int i = 0; i < 2; i++) {
                clients.add(closer.keep(DealerClient.builder().identity("client-" + i).connect(endpoint).heartbeat(INTERVAL, 3)
                        .listener(clientEvents::add).build()));
                ids.add(Identity.of("client-" + i));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> clients.stream().allMatch(c -> c.state() == ClientState.READY));
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertEquals(ids.size(), router.peerCount(), router.peers()
                    + " " + events.events()));
            ZMQ.Socket leaver = Dealers.connect(ctx, "leaver", endpoint);
            leaver.send("hello");
            await().atMost(Duration.ofSeconds(20)).until(() -> router.peer(Identity.of("leaver")).isPresent());
            ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
            peers.add(sender);
            int[] sent = new int[1];
            sender.scheduleAtFixedRate(() -> {
                for (DealerClient c : clients) {
                    if (c.send(("n" + sent[0]).getBytes()) == SendResult.QUEUED) {
                        sent[0]++;
                    }
                }
            }, 0, 500, TimeUnit.MILLISECONDS);
            long taken = 0;
            while (router.receive(Duration.ofMillis(1)) != null) {
                taken++; // what the peers sent while they were starting: the application was there until now
            }
            long deliveredAtPause = router.stats().get("messagesDelivered");
            // Nobody calls receive() for 3 s. One peer really leaves meanwhile.
            await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(1)).until(() -> true);
            ctx.destroySocket(leaver);
            // The router keeps reading while the application is away: the one that left is evicted now, not later.
            PeerEvent left = events.awaitEvicted(Identity.of("leaver"), 0, Duration.ofSeconds(10)).event;
            assertEquals(EvictReason.TRANSPORT_LOST, left.reason());
            assertTrue(!left.duringStall(), "no stall: " + left);
            await().pollDelay(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(3)).until(() -> true);
            // Everything read meanwhile is held: more than the queue's 80, and each is handed out now.
            long delivered = router.stats().get("messagesDelivered");
            assertTrue(delivered - deliveredAtPause > 80, "the router read on past the full queue: " + (delivered - deliveredAtPause));
            for (long held = delivered - taken; held > 0; held--) {
                assertNotNull(router.receive(Duration.ofSeconds(5)), held + " held messages not handed out");
            }
            assertNobodyDisturbed(events, ids);
            for (ClientEvent e : clientEvents) {
                assertTrue(e.type() == ClientEvent.Type.CONNECTED, "a client saw only its connection: " + clientEvents);
            }
            assertTrue(events.stalls.isEmpty(), "reading never stopped: " + events.stalls);
            assertEquals(0, router.stats().receivedUnaccounted(), router.stats().toString());
        }
    }

    @Test
    void aClientProcessStoppedForThreeSecondsResumesItsSessionAndLosesNoParkedMessage() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("napper");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .resumeWindow(Duration.ofSeconds(10)).listener(events).handler(m -> { }).build();
             ChildProcess client = ChildProcess.start(ChildProcess.javaCommand("-Xmx64m", io.github.zmqliveness.cli.Main.class,
                     List.of("client", "--connect", router.endpoints().get(0), "--identity", "napper", "--interval", "1s",
                             "--heartbeat", "200ms")))) {
            client.awaitLine("{\"event\":\"connected\"", Duration.ofSeconds(30));
            Session before = router.peer(id).orElseThrow().session();
            long stoppedAt = System.nanoTime();
            client.signal("STOP");
            // Silent for real, as far as the router can tell: evicted, its session parked with what is sent to it.
            events.awaitEvicted(id, stoppedAt, Duration.ofSeconds(10));
            for (int i = 0; i < 5; i++) {
                assertEquals(SendResult.PARKED, router.send(id, ("parked-" + i).getBytes()));
            }
            await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true); // stopped for 3 s in all
            client.signal("CONT");
            client.awaitLine("{\"event\":\"rejoined\"", Duration.ofSeconds(20));
            await().atMost(Duration.ofSeconds(10)).until(() -> client.lines().stream().anyMatch(l -> l.contains("\"text\":\"parked-4\"")));
            List<String> parked = new ArrayList<>();
            for (String line : client.lines()) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"text\":\"(parked-\\d)\"").matcher(line);
                if (m.find()) {
                    parked.add(m.group(1));
                }
            }
            assertEquals(List.of("parked-0", "parked-1", "parked-2", "parked-3", "parked-4"), parked, "each once, in order");
            String rejoined = client.lines().stream().filter(l -> l.startsWith("{\"event\":\"rejoined\"")).findFirst().orElseThrow();
            assertTrue(rejoined.contains("\"resumed\":true"), rejoined);
            assertEquals(before, router.peer(id).orElseThrow().session(), "the same session, resumed");
            assertEquals(1, router.stats().get("sessionsResumed"));
        }
    }

    @Test
    void aRouterProcessStoppedForThreeSecondsEvictsNoProtocolClientAndServesItsPlainPeersAgainAtOnce() throws Exception {
        io.github.zmqliveness.support.Facilities.requirePyzmq();
        try (ChildProcess router = ChildProcess.start(ChildProcess.javaCommand("-Xmx128m", io.github.zmqliveness.cli.Main.class,
                List.of("router", "--bind", "tcp://127.0.0.1:*", "--heartbeat", "200ms", "--liveness", "3", "--echo")))) {
            String listening = router.awaitLine("{\"event\":\"listening\"", Duration.ofSeconds(30));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("tcp://127\\.0\\.0\\.1:\\d+").matcher(listening);
            assertTrue(m.find(), listening);
            String endpoint = m.group();
            List<ChildProcess> dealers = new ArrayList<>();
            List<DealerClient> clients = new ArrayList<>();
            List<ClientEvent> clientEvents = new CopyOnWriteArrayList<>();
            try {
                for (int i = 0; i < PLAIN_PEERS; i++) {
                    ChildProcess d = ChildProcess.libzmqDealer(endpoint, "plain-" + i, 100);
                    dealers.add(d);
                    d.awaitLine("reply", Duration.ofSeconds(20));
                }
                // Ten clients with the default handshake limit (2 s): their transport gives up on the stopped router
                // and they reconnect meanwhile, and each must be back within the router's bound for a return (one
                // interval of hold + interval x liveness = 0.8 s). Before the client nudged JeroMQ's I/O thread
                // (ClientLoop#nudgeIoThread), 1 to 3 of 10 lost 2 s in a connection whose greeting was never read.
                for (int i = 0; i < CLIENTS; i++) {
                    clients.add(closer.keep(DealerClient.builder().identity("zlp-" + i).connect(endpoint).heartbeat(INTERVAL, 3)
                            .listener(clientEvents::add).build()));
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> clients.stream().allMatch(c -> c.state() == ClientState.READY));
                int linesBefore = router.lines().size();
                router.signal("STOP");
                // The fault is the pause itself: the router's process does not run for three seconds.
                await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);
                long[] replies = new long[PLAIN_PEERS];
                for (int i = 0; i < PLAIN_PEERS; i++) {
                    replies[i] = dealers.get(i).lines().stream().filter(l -> l.startsWith("reply")).count();
                }
                router.signal("CONT");
                long resumedAt = System.nanoTime();
                long worst = 0;
                for (int i = 0; i < PLAIN_PEERS; i++) {
                    ChildProcess d = dealers.get(i);
                    long before = replies[i];
                    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                            .until(() -> d.lines().stream().filter(l -> l.startsWith("reply")).count() > before);
                    worst = Math.max(worst, (System.nanoTime() - resumedAt) / 1_000_000);
                }
                router.awaitLine("{\"event\":\"stalled\"", Duration.ofSeconds(10));
                // Every protocol client is back in its session (it may have reconnected: its transport gave up on the
                // stopped router), and a few intervals later the router has evicted or suspected none of them.
                await().atMost(Duration.ofSeconds(15)).until(() -> clients.stream().allMatch(c -> c.state() == ClientState.READY));
                await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> true);
                List<String> after = List.copyOf(router.lines().subList(linesBefore, router.lines().size()));
                long evictions = after.stream().filter(l -> l.startsWith("{\"event\":\"evicted\"")).count();
                long returned = after.stream().filter(l -> l.startsWith("{\"event\":\"took_over\"")).count();
                System.out.println("router stopped 3 s: every plain peer served again " + worst + " ms after SIGCONT; "
                        + evictions + " evictions, " + returned + " returns on a new connection");
                for (String line : after) {
                    if (line.contains("\"identity\":\"zlp-")) {
                        assertTrue(!line.startsWith("{\"event\":\"evicted\"") && !line.startsWith("{\"event\":\"suspect\"")
                                && !line.startsWith("{\"event\":\"session_ended\"") && !line.startsWith("{\"event\":\"session_started\""),
                                "a protocol client is neither evicted nor suspected for the router's own stop, and keeps its session: "
                                        + line + "\n" + String.join("\n", after));
                    }
                    if (line.startsWith("{\"event\":\"evicted\"") || line.startsWith("{\"event\":\"took_over\"")) {
                        assertTrue(line.contains("\"during_stall\":true"), "what the stall caused says so: " + line);
                    }
                }
                assertEquals(1, after.stream().filter(l -> l.startsWith("{\"event\":\"stalled\"")).count(), String.join("\n", after));
                for (ClientEvent e : clientEvents) {
                    if (e.type() == ClientEvent.Type.REJOINED) {
                        assertTrue(e.resumed(), "a client that reconnected resumed its session: " + e);
                    }
                }
                assertTrue(worst <= 3_000, "served again " + worst + " ms after the router resumed");
            } finally {
                for (ChildProcess d : dealers) {
                    d.close();
                }
            }
        }
    }
}
