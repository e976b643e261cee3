package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Closer;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A caller-driven router: no thread of its own; the application's thread drives it, either with receive() alone or
 * from its own poll loop beside other sockets, and it keeps every liveness promise while driven.
 */
class CallerDrivenTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);
    private final ZContext ctx = Dealers.context();
    private final Closer closer = new Closer();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() throws Exception {
        closer.close();
        threads.shutdownNow();
        threads.awaitTermination(5, TimeUnit.SECONDS);
        ctx.close();
    }

    private static Set<String> routerThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("zmq-liveness-router-")).collect(Collectors.toSet());
    }

    @Test
    void aThreadThatOnlyReceivesAndSendsIsAWholeServer() throws Exception {
        Set<String> before = routerThreads();
        EventRecorder events = new EventRecorder();
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .heartbeatInterval(INTERVAL).listener(events).build());
        assertEquals(before, routerThreads(), "a caller-driven router starts no loop thread");
        // A plain DEALER and a protocol client, both served by this thread alone.
        ZMQ.Socket plain = Dealers.connect(ctx, "plain", router.endpoints().get(0));
        DealerClient client = closer.keep(DealerClient.builder().identity("client").connect(router.endpoints().get(0))
                .heartbeat(INTERVAL, 3).build());
        int n = 1_000;
        Future<Integer> plainEchoes = threads.submit(() -> {
            int got = 0;
            for (int i = 0; i < n; i++) {
                plain.send("p" + i);
            }
            plain.setReceiveTimeOut(20_000);
            for (int i = 0; i < n; i++) {
                byte[] r = plain.recv();
                assertNotNull(r, "echo " + i + " of the plain DEALER");
                assertEquals("p" + i, new String(r, StandardCharsets.UTF_8));
                got++;
            }
            return got;
        });
        int echoed = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean clientSent = false;
        int clientReplies = 0;
        while ((echoed < n + 100 || clientReplies < 100) && System.nanoTime() < deadline) {
            if (!clientSent && client.state() == ClientState.READY) {
                for (int i = 0; i < 100; i++) {
                    assertEquals(SendResult.QUEUED, client.send(("c" + i).getBytes(StandardCharsets.UTF_8)));
                }
                clientSent = true;
            }
            Message m = router.receive(Duration.ofMillis(50));
            if (m != null) {
                router.reply(m, m.first());
                echoed++;
            }
            Message reply;
            while (clientSent && (reply = client.receive(Duration.ZERO)) != null) {
                assertEquals("c" + clientReplies, new String(reply.first(), StandardCharsets.UTF_8));
                clientReplies++;
            }
        }
        assertEquals(n, plainEchoes.get(30, TimeUnit.SECONDS));
        assertEquals(100, clientReplies, "the protocol client's echoes; client counters " + client.counters());
        assertEquals(n + 100, echoed);
        assertEquals(2, router.peerCount());
        assertEquals(0L, router.stats().get("loopErrors"));
        assertEquals(before, routerThreads());
    }

    @Test
    void aBrokerPollsTheRouterBesideItsOwnSocketAndIsWokenByWorkFromOtherThreads() throws Exception {
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .heartbeatInterval(INTERVAL).build());
        ZMQ.Socket backend = ctx.createSocket(SocketType.PULL);
        int port = backend.bindToRandomPort("tcp://127.0.0.1");
        ZMQ.Socket feeder = ctx.createSocket(SocketType.PUSH);
        feeder.connect("tcp://127.0.0.1:" + port);
        DealerClient client = closer.keep(DealerClient.builder().identity("broker-client").connect(router.endpoints().get(0))
                .heartbeat(INTERVAL, 3).build());
        ZMQ.Poller poller = ctx.createPoller(2);
        poller.register(router.pollHandle(), ZMQ.Poller.POLLIN);
        int b = poller.register(backend, ZMQ.Poller.POLLIN);
        AtomicBoolean stop = new AtomicBoolean();
        List<String> forwarded = new ArrayList<>();
        Future<?> broker = threads.submit(() -> {
            while (!stop.get()) {
                poller.poll(router.timeUntilWork().toMillis());
                if (poller.pollin(b)) {
                    // Work from the backend goes to the client through the router.
                    String job = backend.recvStr();
                    assertEquals(SendResult.QUEUED, router.send(Identity.of("broker-client"), job.getBytes(StandardCharsets.UTF_8)));
                }
                router.doWork();
                Message m;
                while ((m = router.receive(Duration.ZERO)) != null) {
                    forwarded.add(new String(m.first(), StandardCharsets.UTF_8));
                }
            }
            return null;
        });
        await().atMost(Duration.ofSeconds(20)).until(() -> client.state() == ClientState.READY);
        feeder.send("from-backend");
        Message got = client.receive(Duration.ofSeconds(20));
        assertNotNull(got, "the backend's message, through the broker's poll loop, to the client");
        assertEquals("from-backend", new String(got.first(), StandardCharsets.UTF_8));
        client.send("to-broker".getBytes(StandardCharsets.UTF_8));
        await().atMost(Duration.ofSeconds(20)).until(() -> forwarded.contains("to-broker"));
        stop.set(true);
        broker.get(20, TimeUnit.SECONDS);

        // Now a loop that waits on the handle much longer than timeUntilWork(), with a peer that sends nothing (a
        // plain DEALER: no heartbeats; ZMTP PONGs never reach the socket). A send from another thread meanwhile is
        // written by that thread at once (nobody is driving); work that only a turn can do, such as a connection the
        // I/O thread accepted, must make the handle readable at once, else it would wait for the poll's own 30 s.
        ZMQ.Socket quiet = Dealers.connect(ctx, "quiet", router.endpoints().get(0));
        quiet.send("here");
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            router.doWork();
            return router.peerCount() == 2;
        });
        client.close(); // its heartbeats would wake the poll too
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            router.doWork();
            return router.peerCount() == 1;
        });
        router.receive(Duration.ZERO); // "here"
        java.util.concurrent.CountDownLatch armed = new java.util.concurrent.CountDownLatch(1);
        Future<Long> waited = threads.submit(() -> {
            router.doWork();
            router.timeUntilWork(); // arms the handle
            armed.countDown();
            long start = System.nanoTime();
            poller.poll(30_000);
            long took = System.nanoTime() - start;
            router.doWork();
            return took;
        });
        assertTrue(armed.await(20, TimeUnit.SECONDS));
        assertEquals(SendResult.QUEUED, router.send(Identity.of("quiet"), "from-another-thread".getBytes(StandardCharsets.UTF_8)));
        quiet.setReceiveTimeOut(20_000);
        assertEquals("from-another-thread", quiet.recvStr(), "written by the sending thread, with the driver still in its poll");
        // The connection races the poll's start: before it or during it, the handle must turn readable.
        Dealers.connect(ctx, "newcomer", router.endpoints().get(0));
        long took = waited.get(25, TimeUnit.SECONDS);
        assertTrue(took < TimeUnit.SECONDS.toNanos(20), "the poll was not woken: " + took / 1_000_000 + " ms");
    }

    @Test
    void peersAndEvictFromAnotherThreadAreAnsweredWhetherOrNotTheRouterIsBeingDriven() throws Exception {
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .heartbeatInterval(INTERVAL).build());
        ZMQ.Socket plain = Dealers.connect(ctx, "asked-about", router.endpoints().get(0));
        plain.send("hi");
        assertNotNull(router.receive(Duration.ofSeconds(20)));
        // Nobody drives: answered inline on the asking thread.
        assertEquals(List.of(Identity.of("asked-about")), router.peers().stream().map(PeerSnapshot::identity).collect(Collectors.toList()));
        // A driver waits in receive(): the question goes to its turn and wakes it.
        Future<Message> driving = threads.submit(() -> router.receive(Duration.ofSeconds(30)));
        await().atMost(Duration.ofSeconds(10)).until(() -> router.peer(Identity.of("asked-about")).isPresent());
        assertTrue(router.evict(Identity.of("asked-about")));
        assertEquals(0, router.peerCount());
        assertFalse(router.peer(Identity.of("asked-about")).isPresent());
        router.close(); // from this thread, while the driver waits: it returns at once, and the router is closed
        assertNull(driving.get(10, TimeUnit.SECONDS));
        assertFalse(router.isRunning());
        assertTrue(router.awaitTermination(Duration.ofSeconds(5)));
        assertEquals(0, router.doWork(), "a closed router has nothing to do");
    }

    @Test
    void aDrivenRouterEvictsTheSilentAndAPauseOfItsDriverCondemnsNoLivePeer() throws Exception {
        EventRecorder events = new EventRecorder();
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .heartbeatInterval(INTERVAL).liveness(3).listener(events).build());
        AtomicBoolean paused = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        Future<?> driver = threads.submit(() -> {
            while (!stop.get()) {
                if (paused.get()) {
                    Thread.sleep(5);
                    continue;
                }
                Message m = router.receive(Duration.ofMillis(20));
                if (m != null) {
                    router.reply(m, m.first());
                }
            }
            return null;
        });
        DealerClient live = closer.keep(DealerClient.builder().identity("live").connect(router.endpoints().get(0))
                .heartbeat(INTERVAL, 5).build());
        await().atMost(Duration.ofSeconds(20)).until(() -> live.state() == ClientState.READY);
        // A protocol peer that says HELLO and then never speaks again: the driven router evicts it for silence.
        byte[] instance = new byte[16];
        instance[0] = 7;
        Dealers.Opened mute = Dealers.protocolClient(ctx, "mute", Command.hello(instance, 1, 0).encode(),
                router.endpoints().get(0), 1000);
        assertNotNull(mute.first, "WELCOME for the mute peer");
        long t0 = System.nanoTime();
        events.await(EventRecorder.evicted(Identity.of("mute"), EvictReason.HEARTBEAT_TIMEOUT), t0, Duration.ofSeconds(20));

        // The driver pauses for 4 intervals (more than the router's 3 x 200 ms): a stall, reported, and the live
        // client, which heard nothing meanwhile but is alive, is neither suspected nor evicted.
        events.clear();
        paused.set(true);
        long pauseStart = System.nanoTime();
        await().pollDelay(Duration.ofMillis(800)).atMost(Duration.ofSeconds(5)).until(() -> System.nanoTime() - pauseStart >= TimeUnit.MILLISECONDS.toNanos(800));
        paused.set(false);
        await().atMost(Duration.ofSeconds(10)).until(() -> !events.stalls.isEmpty());
        assertTrue(events.stalls.get(0).duration().toMillis() >= 600, "stall " + events.stalls);
        // Two more intervals of normal driving: the live client is still there and was never condemned.
        long after = System.nanoTime();
        await().pollDelay(Duration.ofMillis(600)).atMost(Duration.ofSeconds(5)).until(() -> System.nanoTime() - after >= TimeUnit.MILLISECONDS.toNanos(600));
        assertEquals(0, events.count(PeerEvent.Type.EVICTED, Identity.of("live")), events.events().toString());
        assertEquals(0, events.count(PeerEvent.Type.SUSPECT, Identity.of("live")), events.events().toString());
        assertTrue(router.peer(Identity.of("live")).isPresent());
        stop.set(true);
        driver.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aHandlerRunsInsideDoWorkAndRepliesWithoutAHandOff() throws Exception {
        List<Thread> handlerThreads = new ArrayList<>();
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .handler((LivenessRouter self, Message m) -> {
                    handlerThreads.add(Thread.currentThread());
                    assertEquals(SendResult.QUEUED, self.reply(m, m.first()));
                }).build());
        ZMQ.Socket plain = Dealers.connect(ctx, "h", router.endpoints().get(0));
        plain.setReceiveTimeOut(100);
        plain.send("ping");
        byte[] reply = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (reply == null && System.nanoTime() < deadline) {
            router.doWork();
            reply = plain.recv(ZMQ.DONTWAIT);
            if (reply == null) {
                Thread.sleep(1);
            }
        }
        assertArrayEquals("ping".getBytes(StandardCharsets.UTF_8), reply);
        assertEquals(List.of(Thread.currentThread()), handlerThreads);
        assertThrows(IllegalStateException.class, () -> router.receive(Duration.ZERO), "messages go to the handler");
    }

    @Test
    void aReplySentBetweenTurnsIsWrittenAtOnceWithoutAnotherTurn() throws Exception {
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven().build());
        ZMQ.Socket plain = Dealers.connect(ctx, "between", router.endpoints().get(0));
        plain.setReceiveTimeOut(20_000);
        plain.send("ping");
        Message m = router.receive(Duration.ofSeconds(20));
        assertNotNull(m, "the ping");
        // The driver replies after receive() returned, from its own thread, then from another one, and drives no more:
        // nobody holds the router, so each send writes at once instead of queueing for a turn that never comes.
        assertEquals(SendResult.QUEUED, router.reply(m, "pong".getBytes(StandardCharsets.UTF_8)));
        assertArrayEquals("pong".getBytes(StandardCharsets.UTF_8), plain.recv(0), "written by send itself");
        assertEquals(SendResult.QUEUED, threads.submit(() -> router.send(m.identity(), "again".getBytes(StandardCharsets.UTF_8)))
                .get(20, TimeUnit.SECONDS));
        assertArrayEquals("again".getBytes(StandardCharsets.UTF_8), plain.recv(0), "and from any thread");
    }

    @Test
    void theCallerDrivenMethodsRefuseARouterThatRunsItsOwnThread() {
        LivenessRouter threaded = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").build());
        IllegalStateException e = assertThrows(IllegalStateException.class, threaded::doWork);
        assertTrue(e.getMessage().contains("callerDriven()"), e.getMessage());
        assertThrows(IllegalStateException.class, threaded::pollHandle);
        assertThrows(IllegalStateException.class, threaded::timeUntilWork);
    }
}
