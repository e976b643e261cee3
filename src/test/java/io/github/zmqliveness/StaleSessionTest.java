package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Closer;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * "My client app gets a few old messages before getting new ones": a restarted client must never
 * receive what was sent to its previous life, however the new connection's handshake, HELLO and the
 * old instance's backlog interleave, and it must be served at once.
 */
class StaleSessionTest {
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final int BACKLOG = 1_000;
    private static final int SIZE = 8 * 1024;

    private final Closer closer = new Closer();

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    private <T extends AutoCloseable> T keep(T c) {
        return closer.keep(c);
    }

    /** An echoing router, as {@code router --echo} is: replies by identity ("whoever holds it now"). */
    private LivenessRouter echoRouter(EventRecorder events) {
        AtomicReference<LivenessRouter> self = new AtomicReference<>();
        LivenessRouter router = keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .sendHighWaterMark(10).listener(events).handler(m -> self.get().send(m.identity(), m.frames())).build());
        self.set(router);
        return router;
    }

    /**
     * An old instance of a protocol client: HELLO, WELCOME, then {@code count} messages of {@code size} bytes that
     * the router echoes, none of which it reads. It does not reconnect once the router shuts its connection.
     */
    private static ZMQ.Socket floodingOldInstance(ZContext ctx, String identity, LivenessRouter router, int count, int size) {
        byte[] instance = new byte[16];
        new SecureRandom().nextBytes(instance);
        return flooding(ctx, identity, instance, 1, router, count, size);
    }

    /**
     * A raw protocol client of instance {@code instance}: HELLO (epoch, asking to resume), WELCOME, then {@code count}
     * messages ({@code 'o'} and a 4-byte sequence number, padded to {@code size} bytes), reading nothing after WELCOME.
     */
    private static ZMQ.Socket flooding(ZContext ctx, String identity, byte[] instance, long epoch, LivenessRouter router,
            int count, int size) {
        Dealers.Opened opened = Dealers.protocolClient(ctx, identity, Command.hello(instance, epoch, Command.FLAG_RESUME).encode(),
                router.endpoints().get(0), 10); // it reads nothing: what the router sends it backs up in the router's queue
        ZMQ.Socket s = opened.socket;
        byte[] welcome = opened.first;
        assertNotNull(welcome, () -> identity + ": the old instance got no WELCOME in 5 attempts; router " + router.stats());
        assertTrue(Command.looksLikeCommand(welcome));
        for (int i = 0; i < count; i++) {
            ByteBuffer payload = ByteBuffer.allocate(Math.max(size, 5));
            payload.put((byte) 'o').putInt(i); // "old": never a message of the new instance
            s.send(payload.array(), 0);
        }
        return s;
    }

    private static byte[] seq(int n) {
        return ("new " + n).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aRestartedClientNeverGetsItsPreviousLifesBacklogAndIsServedAtOnce() throws Exception {
        EventRecorder events = new EventRecorder();
        LivenessRouter router = echoRouter(events);
        String endpoint = router.endpoints().get(0);
        // The old instance still stands, so the new one is refused (CONFLICT) until the router gives the old one up
        // (interval x liveness of silence), about 4 s a trial; each refused attempt is itself a handover window (the
        // old session's backlog is written into the new connection before its HELLO is read, and dropped by it).
        int trials = 12;
        int windowHits = 0;
        long worstServedMillis = 0;
        for (int trial = 0; trial < trials; trial++) {
            String name = "host-" + trial;
            Identity id = Identity.of(name);
            ZContext ctx = Dealers.context(); // the old instance is a process of its own: its own context
            ZMQ.Socket old = floodingOldInstance(ctx, name, router, BACKLOG, SIZE);
            // The old instance's echoes back up: its pipe is full and the router holds the rest for its session.
            await().atMost(Duration.ofSeconds(30)).until(() -> router.peer(id).map(PeerSnapshot::queuedMessages).orElse(0) > 0);

            BlockingQueue<Message> got = new LinkedBlockingQueue<>();
            BlockingQueue<ClientEvent> clientEvents = new LinkedBlockingQueue<>();
            try (DealerClient fresh = DealerClient.builder().identity(name).connect(endpoint).heartbeat(INTERVAL, 3)
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(500), 2).listener(clientEvents::add).build()) {
                ClientEvent connected = null;
                while (connected == null) {
                    ClientEvent e = clientEvents.poll(30, TimeUnit.SECONDS);
                    assertNotNull(e, "trial " + trial + ": the new instance never got WELCOME");
                    if (e.type() == ClientEvent.Type.CONNECTED) {
                        connected = e;
                    }
                }
                long welcomedAt = System.nanoTime();
                assertEquals(SendResult.QUEUED, fresh.send(seq(0)));
                Message first = null;
                // Everything the application sees must be its own echo; the first one within one interval.
                while (first == null) {
                    Message m = fresh.receive(Duration.ofSeconds(10));
                    assertNotNull(m, "trial " + trial + ": the new instance was not served");
                    String text = new String(m.first(), StandardCharsets.UTF_8);
                    if (!text.startsWith("new ")) {
                        fail("trial " + trial + ": the new instance received a message meant for its previous life ("
                                + m.size() + " bytes); client counters " + fresh.counters());
                    }
                    first = m;
                }
                long servedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - welcomedAt);
                worstServedMillis = Math.max(worstServedMillis, servedMillis);
                assertTrue(servedMillis <= INTERVAL.toMillis(), "trial " + trial + ": first own echo " + servedMillis
                        + " ms after WELCOME, more than one interval");
                assertEquals(connected.session(), first.session().number(), "delivered under the current session");
                for (int i = 1; i <= 5; i++) {
                    fresh.send(seq(i));
                }
                for (int i = 1; i <= 5; i++) {
                    Message m = fresh.receive(Duration.ofSeconds(10));
                    assertNotNull(m, "trial " + trial + ": echo " + i + " missing");
                    assertEquals("new " + i, new String(m.first(), StandardCharsets.UTF_8), "trial " + trial);
                }
                if (fresh.counters().get("receivedStale") > 0) {
                    windowHits++; // the backlog did reach the new connection, and the client dropped it
                }
            }
            ctx.close();
            await().atMost(Duration.ofSeconds(30)).until(() -> router.peer(id).isEmpty());
        }
        System.out.printf("stale-session trials: %d, new connection got old backlog in %d, worst first-echo %d ms%n",
                trials, windowHits, worstServedMillis);
        RouterStats stats = router.stats();
        assertTrue(stats.get("droppedStaleSession") > 0, "the router dropped the old sessions' queues: " + stats);
    }

    @Test
    void aReplyComputedForTheOldInstanceIsRefusedAsStaleAndReachesNobody() throws Exception {
        EventRecorder events = new EventRecorder();
        BlockingQueue<Message> requests = new LinkedBlockingQueue<>();
        LivenessRouter router = keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL)
                .listener(events).build());
        String endpoint = router.endpoints().get(0);
        Identity id = Identity.of("worker");
        Message request;
        try (DealerClient a = DealerClient.builder().identity(id).connect(endpoint).heartbeat(INTERVAL, 3).build()) {
            await().atMost(Duration.ofSeconds(20)).until(() -> a.state() == ClientState.READY);
            a.send("question".getBytes(StandardCharsets.UTF_8));
            request = router.receive(Duration.ofSeconds(10));
            assertNotNull(request);
            assertTrue(request.session().speaksProtocol());
            assertEquals(a.session(), request.session().number());
            // A is killed without a goodbye: its session is parked, replies are held for it ...
            // (closing says BYE; a crash does not: the router's side is what matters here, so take B straight in)
        }
        try (DealerClient b = DealerClient.builder().identity(id).connect(endpoint).heartbeat(INTERVAL, 3).build()) {
            await().atMost(Duration.ofSeconds(20)).until(() -> b.state() == ClientState.READY);
            assertNotEquals(request.session().number(), b.session());
            SendResult r = router.reply(request, "answer for A".getBytes(StandardCharsets.UTF_8));
            assertEquals(SendResult.STALE_SESSION, r);
            assertEquals(1, router.stats().get("refusedStaleSession"));
            // B is served, and only with what is meant for it.
            assertTrue(router.send(id, "for whoever holds worker".getBytes(StandardCharsets.UTF_8)).isAccepted());
            Message m = b.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            assertEquals("for whoever holds worker", new String(m.first(), StandardCharsets.UTF_8));
            assertEquals(null, b.receive(Duration.ofMillis(300)), "nothing else reached B");
        }
        // A's session ended and B's began, each once, with their instance ids.
        List<PeerEvent> ended = events.of(id).stream().filter(e -> e.type() == PeerEvent.Type.SESSION_ENDED)
                .collect(java.util.stream.Collectors.toList());
        assertTrue(ended.stream().anyMatch(e -> e.session().equals(request.session())), "A's session ended: " + events.of(id));
    }

    @Test
    void aReplyRacingATakeoverIsNeverWrittenToTheNewInstance() throws Exception {
        // The reply is accepted for A's session while A still holds it; B's HELLO arrives before it is written.
        // The pipe of A is full, so the reply waits in the router's queue when B takes over.
        EventRecorder events = new EventRecorder();
        LivenessRouter router = keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL)
                .sendHighWaterMark(10).listener(events).build());
        String endpoint = router.endpoints().get(0);
        try (ZContext ctx = Dealers.context()) {
            ZMQ.Socket old = floodingOldInstance(ctx, "racer", router, 1, 1);
            Message request = router.receive(Duration.ofSeconds(10));
            assertNotNull(request);
            byte[] big = new byte[SIZE];
            big[0] = 'o';
            int accepted = 0;
            for (int i = 0; i < BACKLOG * 3; i++) {
                if (router.reply(request, big).isAccepted()) {
                    accepted++;
                }
            }
            assertTrue(accepted > 0);
            await().atMost(Duration.ofSeconds(30)).until(() -> router.peer(Identity.of("racer"))
                    .orElseThrow(() -> new AssertionError("racer gone: " + events.events() + " " + router.stats())).queuedMessages() > 0);
            try (DealerClient b = DealerClient.builder().identity("racer").connect(endpoint).heartbeat(INTERVAL, 3).build()) {
                await().atMost(Duration.ofSeconds(20)).until(() -> b.state() == ClientState.READY);
                assertEquals(SendResult.STALE_SESSION, router.reply(request, big));
                assertEquals(null, b.receive(Duration.ofMillis(500)), "nothing meant for A reached B's application");
                // Everything the router accepted for A was written to some connection or dropped with a reason.
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    RouterStats s = router.stats();
                    return s.get("messagesAccepted") == s.get("messagesSent") + s.get("droppedStaleSession")
                            + s.get("droppedExpired") + s.get("droppedPeerGone");
                });
            }
            ctx.destroySocket(old);
        }
    }

    @Test
    void serverDataCarriesItsSession() throws Exception {
        // The wire rule behind the guarantee: every application message to a protocol client names its session.
        LivenessRouter router = keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).build());
        try (ZContext ctx = Dealers.context()) {
            ZMQ.Socket s = floodingOldInstance(ctx, "tagged", router, 0, 1);
            Message hello = null;
            s.send("hi", 0);
            hello = router.receive(Duration.ofSeconds(10));
            assertNotNull(hello);
            router.reply(hello, Command.data(7).encode(), "x".getBytes(StandardCharsets.UTF_8)); // data that looks like a command
            byte[] tag = s.recv();
            assertEquals(hello.session().number(), Command.sessionOfData(tag));
            assertEquals(7, Command.sessionOfData(s.recv()), "the payload follows unchanged");
            assertEquals("x", new String(s.recv(), StandardCharsets.UTF_8));
            assertEquals(false, s.hasReceiveMore());
        }
    }

    static long seqOf(byte[] frame) {
        return ByteBuffer.wrap(frame).getLong();
    }

    @Test
    void theSameInstanceComingBackGetsItsParkedBacklogInOrderAndOnce() throws Exception {
        // A client that lost its connection (no BYE) and comes back as the same instance asking to resume: what was
        // sent to its session and not yet written is delivered, in order, each message once, under the same session.
        EventRecorder events = new EventRecorder();
        LivenessRouter router = echoRouter(events);
        int trials = 20;
        long worstGap = 0;
        int windowHits = 0;
        for (int trial = 0; trial < trials; trial++) {
            String name = "napper-" + trial;
            Identity id = Identity.of(name);
            byte[] instance = new byte[16];
            new SecureRandom().nextBytes(instance);
            boolean oldGoneFirst = trial % 2 == 0; // else the same instance reconnects while its old connection still stands
            ZContext oldCtx = Dealers.context();
            flooding(oldCtx, name, instance, 1, router, BACKLOG, SIZE);
            await().atMost(Duration.ofSeconds(30)).until(() -> router.peer(id).map(PeerSnapshot::queuedMessages).orElse(0) > 0);
            long sessionBefore = router.peer(id).orElseThrow().session().number();
            if (oldGoneFirst) {
                oldCtx.close(); // the process died: its connection goes, its session is parked with its backlog
                await().atMost(Duration.ofSeconds(30)).until(() -> router.peer(id).isEmpty());
            }
            try (ZContext ctx = Dealers.context()) {
                Dealers.Opened opened = Dealers.protocolClient(ctx, name, Command.hello(instance, 2, Command.FLAG_RESUME).encode(),
                        router.endpoints().get(0), 1000);
                ZMQ.Socket back = opened.socket;
                byte[] first = opened.first;
                assertNotNull(first, "trial " + trial + ": nothing for the returning instance");
                back.setReceiveTimeOut(3_000);
                // PROTOCOL.md section 6, client rules: data before WELCOME (written into the new connection while the
                // router still took the old one for the identity's) is held if it names the session being resumed,
                // and delivered first once WELCOME says RESUMED with that number.
                List<byte[]> held = new ArrayList<>();
                Command w = null;
                byte[] frame = first;
                while (true) {
                    assertNotNull(frame, "trial " + trial + ": no WELCOME after " + held.size() + " early messages");
                    long tag = Command.sessionOfData(frame);
                    if (tag >= 0) {
                        assertEquals(sessionBefore, tag, "trial " + trial + ": early data names the session being resumed");
                        held.add(back.recv());
                    } else if (Command.looksLikeCommand(frame) && Command.decode(frame).type() == Command.Type.WELCOME) {
                        w = Command.decode(frame);
                        break;
                    }
                    frame = back.recv();
                }
                if (!held.isEmpty()) {
                    windowHits++;
                }
                assertTrue((w.flags() & Command.FLAG_RESUMED) != 0, "trial " + trial + ": the session was resumed");
                assertEquals(sessionBefore, w.session(), "trial " + trial + ": a resumed session keeps its number");
                int last = -1;
                while (last < BACKLOG - 1) {
                    byte[] data;
                    if (!held.isEmpty()) {
                        data = held.remove(0);
                    } else {
                        byte[] tag = back.recv();
                        assertNotNull(tag, "trial " + trial + ": the backlog stopped at " + last + " of " + (BACKLOG - 1));
                        if (Command.looksLikeCommand(tag) && Command.sessionOfData(tag) < 0) {
                            continue; // a heartbeat
                        }
                        assertEquals(sessionBefore, Command.sessionOfData(tag), "trial " + trial + ": tagged with the resumed session");
                        assertTrue(back.hasReceiveMore());
                        data = back.recv();
                    }
                    ByteBuffer payload = ByteBuffer.wrap(data);
                    assertEquals('o', payload.get());
                    int seq = payload.getInt();
                    // Messages already inside the old connection's pipe when it died are lost with it (up to the
                    // high-water mark, counted by nobody: PROTOCOL.md); what the router still held comes in order, once.
                    assertTrue(seq > last, "trial " + trial + ": " + seq + " after " + last + ": out of order or twice");
                    worstGap = Math.max(worstGap, seq - last - 1);
                    last = seq;
                }
                assertEquals(BACKLOG - 1, last, "trial " + trial + ": the newest message arrives");
            }
            if (!oldGoneFirst) {
                oldCtx.close();
            }
        }
        System.out.printf("resume trials: %d, data before WELCOME (held, then delivered) in %d, largest gap (lost inside a dead"
                + " pipe) %d messages%n", trials, windowHits, worstGap);
        assertTrue(router.stats().get("sessionsResumed") >= trials, router.stats().toString());
    }
}
