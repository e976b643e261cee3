package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import io.github.zmqliveness.support.Net;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** close() gives back every thread, socket and file descriptor, in bounded time. */
class CloseTest {
    private static Set<String> threads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName).collect(Collectors.toSet());
    }

    @Test
    void whatTheReceiveBacklogHeldAtCloseIsStillHandedOutInOrder() {
        try (ZContext ctx = Dealers.context()) {
            LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").receiveQueueCapacity(4).build();
            ZMQ.Socket d = Dealers.connect(ctx, "sender", router.endpoints().get(0));
            for (int i = 0; i < 8; i++) {
                d.send("m" + i);
            }
            // 4 in the queue, 4 in the backlog behind it: all read, none taken yet.
            await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().get("messagesDelivered") == 8);
            router.close();
            java.util.List<String> got = new java.util.ArrayList<>();
            Message m;
            while ((m = router.receive(Duration.ofSeconds(1))) != null) {
                got.add(new String(m.first()));
            }
            assertEquals(java.util.List.of("m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"), got);
        }
    }

    @Test
    void closeReleasesThreadsSocketsAndFileDescriptorsWithinTheTimeout() {
        Facilities.requireProcFs();
        try (ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "witness", "tcp://127.0.0.1:1"); // warm up JeroMQ's own classes and fds
            ctx.destroySocket(dealer);
            int fdsBefore = Net.openFds();
            Set<String> threadsBefore = threads();

            EventRecorder events = new EventRecorder();
            LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events).build();
            java.util.List<ZMQ.Socket> dealers = new java.util.ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ZMQ.Socket d = Dealers.connect(ctx, "client-" + i, router.endpoints().get(0));
                d.send("hi");
                dealers.add(d);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> router.peerCount() == 5);
            assertTimeoutPreemptively(Duration.ofSeconds(6), router::close, "close is bounded by the close timeout (5 s)");

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                Set<String> extra = threads();
                extra.removeAll(threadsBefore);
                extra.removeIf(n -> !(n.startsWith("zmq-liveness") || n.startsWith("reaper") || n.startsWith("iothread")));
                assertEquals(Set.of(), extra, "threads left behind by the router");
            });
            int drained = 0;
            while (router.receive(Duration.ofSeconds(10)) != null) { // what was received before close is not lost
                drained++;
            }
            assertEquals(5, drained);
            assertNull(router.receive());
            assertEquals(0, router.peerCount());
            assertEquals(SendResult.CLOSED, router.send(Identity.of("client-0"), "x".getBytes()));
            dealers.forEach(ctx::destroySocket);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(true, Net.openFds() <= fdsBefore + 2,
                    "file descriptors: " + fdsBefore + " before, " + Net.openFds() + " after"));
        }
    }

    @Test
    void bindingAnAddressInUseFailsWithAClearMessageAndLeavesNothingRunning() {
        try (LivenessRouter first = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build()) {
            Set<String> before = threads();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LivenessRouter.builder().bind(first.endpoints().get(0)).build());
            assertEquals(true, e.getMessage().contains(first.endpoints().get(0)), e.getMessage());
            await().atMost(Duration.ofSeconds(10)).until(() -> threads().stream()
                    .filter(n -> n.startsWith("zmq-liveness") && !before.contains(n)).count() == 0);
        }
    }

    @Test
    void builderRejectsATransportTimeoutThatJeromqWouldMishandle() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder()
                .transportHeartbeat(Duration.ofSeconds(1), Duration.ofSeconds(1)));
        assertEquals(true, e.getMessage().contains("interval / 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder().build(), "no endpoint");
        assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder().liveness(0));
        assertThrows(IllegalArgumentException.class, () -> DealerClient.builder()
                .transportHeartbeat(Duration.ofMillis(500), Duration.ofMillis(600)), "the client has the same guard");
    }

    @Test
    void aQuestionWaitingForABlockedLoopIsAnsweredWhenTheRouterCloses() throws Exception {
        java.util.concurrent.CountDownLatch inHandler = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").closeTimeout(Duration.ofMillis(500))
                .handler(m -> {
                    inHandler.countDown();
                    try {
                        release.await(); // the application's handler hangs: the loop cannot answer anyone
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }).build();
        try (ZContext ctx = Dealers.context()) {
            Dealers.connect(ctx, "a", router.endpoints().get(0)).send("block");
            assertEquals(true, inHandler.await(10, java.util.concurrent.TimeUnit.SECONDS));
            java.util.concurrent.CompletableFuture<java.util.List<PeerSnapshot>> asked =
                    java.util.concurrent.CompletableFuture.supplyAsync(router::peers);
            await().pollDelay(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !asked.isDone()); // it waits on the loop
            router.close(); // the loop is still blocked: close gives up on it after its timeout
            // The waiting question is answered as closed at once, not when its own 10 s bound runs out.
            assertEquals(java.util.List.of(), asked.get(3, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            release.countDown();
        }
    }

    @Test
    void closingFromAListenerOrAHandlerDoesNotWaitForItself() throws Exception {
        java.util.concurrent.CompletableFuture<Long> fromListener = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicReference<LivenessRouter> self = new java.util.concurrent.atomic.AtomicReference<>();
        LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").closeTimeout(Duration.ofSeconds(5))
                .listener(e -> {
                    if (e.type() == PeerEvent.Type.JOINED && !fromListener.isDone()) {
                        long t0 = System.nanoTime();
                        self.get().close();
                        fromListener.complete(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                    }
                }).build();
        self.set(router);
        java.util.concurrent.CompletableFuture<Long> fromHandler = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicReference<LivenessRouter> other = new java.util.concurrent.atomic.AtomicReference<>();
        LivenessRouter second = LivenessRouter.builder().bind("tcp://127.0.0.1:*").closeTimeout(Duration.ofSeconds(5))
                .listener(e -> { }).handler(m -> {
                    long t0 = System.nanoTime();
                    other.get().close();
                    fromHandler.complete(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                }).build();
        other.set(second);
        java.util.concurrent.CompletableFuture<Long> fromClientListener = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicReference<DealerClient> client = new java.util.concurrent.atomic.AtomicReference<>();
        try (ZContext ctx = Dealers.context()) {
            Dealers.connect(ctx, "a", router.endpoints().get(0)).send("hi");
            Dealers.connect(ctx, "b", second.endpoints().get(0)).send("hi");
            LivenessRouter server = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
            try (server) {
                client.set(DealerClient.builder().identity("c").connect(server.endpoints().get(0)).closeTimeout(Duration.ofSeconds(5))
                        .listener(e -> {
                            if (e.type() == ClientEvent.Type.CONNECTED && !fromClientListener.isDone()) {
                                long t0 = System.nanoTime();
                                while (client.get() == null) {
                                    Thread.onSpinWait();
                                }
                                client.get().close();
                                fromClientListener.complete(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                            }
                        }).build());
                // Waiting for its own thread would take the whole close timeout (5 s) each time.
                assertEquals(true, fromListener.get(20, java.util.concurrent.TimeUnit.SECONDS) < 2_500, "router closed from its listener");
                assertEquals(true, fromHandler.get(20, java.util.concurrent.TimeUnit.SECONDS) < 2_500, "router closed from its handler");
                assertEquals(true, fromClientListener.get(20, java.util.concurrent.TimeUnit.SECONDS) < 2_500, "client closed from its listener");
                assertEquals(SendResult.CLOSED, router.send(Identity.of("a"), "x".getBytes()));
                assertEquals(SendResult.CLOSED, second.send(Identity.of("b"), "x".getBytes()));
                await().atMost(Duration.ofSeconds(10)).until(() -> client.get().state() == ClientState.CLOSED);
            }
        }
    }
}
