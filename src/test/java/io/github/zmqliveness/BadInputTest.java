package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Net;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input is counted and logged, never a crash, and nothing already accepted is lost. */
class BadInputTest {
    private static String text(Message m) {
        return new String(m.first(), StandardCharsets.UTF_8);
    }

    @Test
    void peerWithoutRoutingIdIsServedAndCounted() {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build(); ZContext ctx = Dealers.context()) {
            ZMQ.Socket anonymous = Dealers.connect(ctx, null, router.endpoints().get(0));
            anonymous.send("who am i");
            Message m = router.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            assertTrue(m.identity().isGenerated(), "ZeroMQ named it with a 0x00-prefixed id");
            assertTrue(m.identity().toString().startsWith("hex:00"));
            assertEquals(SendResult.QUEUED, router.send(m.identity(), "you are anonymous".getBytes()));
            assertEquals("you are anonymous", anonymous.recvStr());
            assertEquals(1, router.stats().get("receivedAnonymous"));
        }
    }

    @Test
    void messagesOverTheSizeLimitAreDroppedAndCountedAndTheRouterGoesOn() {
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").maxMessageSize(1000).listener(events).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket big = Dealers.connect(ctx, "big", router.endpoints().get(0));
            ZMsg over = new ZMsg();
            for (int i = 0; i < 3; i++) {
                over.add(new byte[600]); // each frame under the limit, together over it
            }
            over.send(big);
            big.send("small after big");
            Message m = router.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            assertEquals("small after big", text(m), "the oversized message was dropped, the next one delivered");
            assertEquals(1, router.stats().get("receivedTooLarge"));

            // One frame over the limit: ZeroMQ refuses to allocate it and drops that connection; others carry on.
            ZMQ.Socket bystander = Dealers.connect(ctx, "bystander", router.endpoints().get(0));
            bystander.send("hello");
            assertEquals("hello", text(router.receive(Duration.ofSeconds(10))));
            big.send(new byte[5000]);
            events.awaitEvicted(Identity.of("big"), 0, Duration.ofSeconds(10));
            bystander.send("still here");
            assertEquals("still here", text(router.receive(Duration.ofSeconds(10))));
            assertTrue(router.peer(Identity.of("bystander")).isPresent());
        }
    }

    @Test
    void malformedCommandFromAProtocolPeerIsCountedAndIgnored() {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build(); ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "garbled", router.endpoints().get(0));
            dealer.send(Command.hello(new byte[16], 1, 0).encode());
            assertNotNull(dealer.recv(), "welcome");
            dealer.send(new byte[] {(byte) 0xFF, 'Z', 'L', 1, '?'});           // unknown command
            dealer.send(new byte[] {(byte) 0xFF, 'Z', 'L', 7, 'P'});           // unknown version
            dealer.send(new byte[] {(byte) 0xFF, 'Z', 'L', 1, 'P', 1, 2, 3});  // heartbeat with junk
            dealer.send(new byte[] {(byte) 0xFF, 'Z', 'L', 1, 'W', 0});        // server-only command, truncated
            dealer.send(Command.heartbeat().encode());
            byte[] reply = dealer.recv();
            assertNotNull(reply, "the router still answers its heartbeats");
            await().atMost(Duration.ofSeconds(5)).until(() -> router.stats().get("receivedMalformed") == 4);
            assertTrue(router.peer(Identity.of("garbled")).isPresent());
            assertEquals(0, router.stats().get("messagesDelivered"), "no malformed command reached the application");
        }
    }

    @Test
    void aFloodOfConnectionsIsRefusedBeyondTheLimitAndServiceResumes() throws Exception {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").maxConnections(20).build();
             ZContext ctx = Dealers.context()) {
            int port = Net.port(router.endpoints().get(0));
            List<Socket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 100; i++) {
                    flood.add(new Socket(InetAddress.getLoopbackAddress(), port));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().get("connectionsRefused") >= 80);
                assertTrue(router.connectionCount() <= 20);
            } finally {
                for (Socket s : flood) {
                    s.close();
                }
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> router.connectionCount() == 0);
            ZMQ.Socket dealer = Dealers.connect(ctx, "legit", router.endpoints().get(0));
            dealer.send("served");
            Message m = router.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            assertEquals("served", text(m));
        }
    }

    @Test
    void connectionsSpeakingGarbageAreDroppedWithoutHarm() throws Exception {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build(); ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "steady", router.endpoints().get(0));
            dealer.send("before");
            assertNotNull(router.receive(Duration.ofSeconds(10)));
            int port = Net.port(router.endpoints().get(0));
            Random random = new Random(42);
            for (int i = 0; i < 50; i++) {
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port); OutputStream out = s.getOutputStream()) {
                    byte[] junk = new byte[256];
                    random.nextBytes(junk);
                    if (i % 2 == 0) {
                        // A ZMTP 3.0 greeting naming a mechanism that does not exist: the handshake fails.
                        byte[] greeting = {(byte) 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0, 'J', 'U', 'N', 'K'};
                        System.arraycopy(greeting, 0, junk, 0, greeting.length);
                        java.util.Arrays.fill(junk, greeting.length, 64, (byte) 0);
                    }
                    out.write(junk);
                }
            }
            dealer.send("after");
            // Pure noise can parse as a legacy ZMTP 1.0 peer, whose "message" ZeroMQ delivers like a raw ROUTER would;
            // what matters is that the real peer is still served and the noise connections are gone.
            Message m;
            do {
                m = router.receive(Duration.ofSeconds(10));
                assertNotNull(m, "the steady peer's message never arrived");
            } while (!m.identity().equals(Identity.of("steady")));
            assertEquals("after", text(m));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertEquals(1, router.connectionCount(), "noise connections left open");
                assertEquals(1, router.peerCount(), "peers: " + router.peers());
            });
        }
    }

    @Test
    void aThrowingHandlerOrListenerDoesNotStopLaterMessagesOrEvents() {
        AtomicInteger handled = new AtomicInteger();
        AtomicInteger heard = new AtomicInteger();
        java.util.Set<Identity> joined = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*")
                .handler(m -> {
                    if (handled.incrementAndGet() == 1) {
                        throw new IllegalStateException("application bug");
                    }
                })
                .listener(e -> {
                    if (e.type() == PeerEvent.Type.JOINED) {
                        joined.add(e.identity());
                    }
                    if (heard.incrementAndGet() == 1) {
                        throw new IllegalStateException("listener bug");
                    }
                }).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket a = Dealers.connect(ctx, "a", router.endpoints().get(0));
            a.send("one");
            a.send("two");
            ZMQ.Socket b = Dealers.connect(ctx, "b", router.endpoints().get(0));
            b.send("three");
            // The listener threw on the first event; b's JOINED comes after it and is still heard.
            await().atMost(Duration.ofSeconds(10)).until(() -> handled.get() == 3 && joined.size() == 2);
            assertEquals(1, router.stats().get("handlerErrors"));
            assertEquals(1, router.stats().get("listenerErrors"));
        }
    }
}
