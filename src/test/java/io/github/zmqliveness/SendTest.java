package io.github.zmqliveness;

import io.github.zmqliveness.cli.TcpProxy;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** send() never blocks, whatever the peer is doing, and always says what happened. */
class SendTest {
    private static final byte[] KB = new byte[1024];

    @Test
    void aRouterMessageHandlerIsHandedItsRouterAndRepliesFromTheLoopThread() {
        java.util.List<Boolean> onLoop = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<LivenessRouter> handed = new java.util.concurrent.atomic.AtomicReference<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").handler((self, m) -> {
                    handed.set(self);
                    onLoop.add(Thread.currentThread().getName().startsWith("zmq-liveness-router"));
                    assertEquals(SendResult.QUEUED, self.reply(m, m.frames()));
                }).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "asker", router.endpoints().get(0));
            dealer.setReceiveTimeOut(10_000);
            for (int i = 0; i < 3; i++) {
                dealer.send("echo-" + i);
                assertEquals("echo-" + i, dealer.recvStr(), "the handler's reply");
            }
            assertTrue(handed.get() == router, "the handler was handed the router it belongs to");
            assertEquals(java.util.List.of(true, true, true), onLoop);
        }
    }

    @Test
    void sendsToAFrozenPeerNeverBlockAndAreBoundedByTheQueueLimits() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("frozen");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .heartbeatInterval(Duration.ofSeconds(30)) // keep the frozen peer in the table for this test
                .queueLimits(500, 1 << 20).sendHighWaterMark(100).build();
             ZContext ctx = Dealers.context(); TcpProxy proxy = TcpProxy.to(router.endpoints().get(0))) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "frozen", proxy.endpoint());
            dealer.send("hi");
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(10));
            proxy.freeze();

            Map<SendResult, Integer> results = new EnumMap<>(SendResult.class);
            // 200,000 x 1 KiB is 200 MiB: far more than any buffer; if send could block it would here.
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                for (int i = 0; i < 200_000; i++) {
                    results.merge(router.send(id, KB), 1, Integer::sum);
                }
            });
            assertTrue(results.get(SendResult.DROPPED_QUEUE_FULL) > 190_000, "most were refused: " + results);
            assertTrue(results.get(SendResult.QUEUED) >= 500, results.toString());
            PeerSnapshot row = router.peer(id).orElseThrow();
            assertTrue(row.queuedMessages() <= 500 && row.queuedBytes() <= (1 << 20), "queue stays within its limits: " + row);
            assertEquals(results.get(SendResult.DROPPED_QUEUE_FULL).longValue(), router.stats().get("droppedQueueFull"));
        }
    }

    @Test
    void messagesThatWaitLongerThanTheirTimeToLiveAreDroppedAndCounted() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("slow");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .heartbeatInterval(Duration.ofSeconds(30)).sendHighWaterMark(1).build();
             ZContext ctx = Dealers.context(); TcpProxy proxy = TcpProxy.to(router.endpoints().get(0))) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "slow", proxy.endpoint());
            dealer.send("hi");
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(10));
            proxy.freeze();
            byte[] big = new byte[256 * 1024];
            int accepted = 0;
            for (int i = 0; i < 200; i++) { // enough to fill the socket buffers and the pipe
                if (router.send(id, Duration.ofMillis(200), big).isAccepted()) {
                    accepted++;
                }
            }
            int total = accepted;
            await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().get("droppedExpired") > 0
                    && router.peer(id).map(PeerSnapshot::queuedMessages).orElse(-1) == 0);
            RouterStats s = router.stats();
            assertEquals(total, s.get("messagesSent") + s.get("droppedExpired"),
                    "every accepted message is either written or dropped as expired: " + s);
        }
    }

    @Test
    void sendsToUnknownAndDeadPeersReturnAtOnceWithTheReason() {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("mortal");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events).build();
             ZContext ctx = Dealers.context()) {
            assertEquals(SendResult.UNKNOWN_PEER, router.send(Identity.of("stranger"), "x".getBytes()));
            ZMQ.Socket dealer = Dealers.connect(ctx, "mortal", router.endpoints().get(0));
            dealer.send("hi");
            events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(10));
            ctx.destroySocket(dealer);
            events.awaitEvicted(id, 0, Duration.ofSeconds(10));
            assertEquals(SendResult.UNKNOWN_PEER, router.send(id, "x".getBytes()));
            assertEquals(SendResult.TOO_LARGE, router.send(id, new byte[(16 << 20) + 1]));
            assertEquals(2, router.stats().get("droppedUnknownPeer"));
            assertEquals(1, router.stats().get("droppedTooLarge"));
        }
    }

    @Test
    void sendAfterCloseSaysClosed() {
        LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
        router.close();
        assertEquals(SendResult.CLOSED, router.send(Identity.of("anyone"), "x".getBytes()));
        router.close(); // idempotent
    }
}
