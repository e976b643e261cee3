package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Unmodified DEALERs are first-class peers, and their messages reach the application unchanged. */
class PeerTrackingTest {
    @Test
    void unmodifiedJeromqDealerIsTrackedEchoedAndEvictedLikeAnyOther() {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("plain");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "plain", router.endpoints().get(0));
            dealer.send("ping");
            Message m = router.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            assertEquals(id, m.identity());
            assertEquals("ping", new String(m.first(), StandardCharsets.UTF_8));
            assertEquals(m.address(), events.awaitType(PeerEvent.Type.JOINED, id, 0, Duration.ofSeconds(5)).event.address());

            PeerSnapshot row = router.peer(id).orElseThrow();
            assertEquals(PeerState.ALIVE, row.state());
            assertFalse(row.heartbeating(), "a plain DEALER is not held to heartbeats of ours");
            assertEquals(m.address(), row.address());

            assertEquals(SendResult.QUEUED, router.send(m.identity(), m.frames()));
            assertEquals("ping", dealer.recvStr());

            ctx.destroySocket(dealer);
            EventRecorder.Seen evicted = events.awaitEvicted(id, 0, Duration.ofSeconds(10));
            assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason());
        }
    }

    @Test
    void batchReceiveTakesWhatIsWaitingInOrder() {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "batcher", router.endpoints().get(0));
            for (int i = 0; i < 10; i++) {
                dealer.send("m" + i);
            }
            List<Message> got = new java.util.ArrayList<>();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> router.receive(got, 4, Duration.ofMillis(50)) >= 0 && got.size() >= 10);
            assertEquals(10, got.size());
            for (int i = 0; i < 10; i++) {
                assertEquals("m" + i, new String(got.get(i).first(), StandardCharsets.UTF_8));
            }
            assertEquals(0, router.receive(got, 4, Duration.ofMillis(10)), "nothing more");
        }
    }

    @Test
    void framesAreDeliveredExactlyAsSentEvenWhenTheyLookLikeOurProtocol() {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "raw", router.endpoints().get(0));
            byte[] heartbeatLookalike = Command.heartbeat().encode();
            byte[] garbageWithSignature = {(byte) 0xFF, 'Z', 'L', 9, 'Q', 1, 2};
            ZMsg sent = new ZMsg();
            sent.add(new byte[0]); // an empty delimiter, as REQ-style clients send
            sent.add(heartbeatLookalike);
            sent.add(garbageWithSignature);
            sent.send(dealer);
            Message m = router.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            List<byte[]> frames = m.frames();
            assertEquals(3, frames.size());
            assertArrayEquals(new byte[0], frames.get(0));
            assertArrayEquals(heartbeatLookalike, frames.get(1));
            assertArrayEquals(garbageWithSignature, frames.get(2));

            dealer.send(heartbeatLookalike); // first frame looks like a command: a plain peer's data all the same
            Message m2 = router.receive(Duration.ofSeconds(10));
            assertNotNull(m2, "a plain peer's message that looks like a command is never swallowed");
            assertArrayEquals(heartbeatLookalike, m2.first());
            assertEquals(0, router.stats().get("receivedMalformed"));
        }
    }

    @Test
    void protocolPeerIsWelcomedHeartbeatsAndLeavesWithBye() {
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("speaker");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .heartbeatInterval(Duration.ofMillis(400)).liveness(4).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "speaker", router.endpoints().get(0));
            dealer.send(Command.hello(new byte[16], 1, 0).encode());
            Command welcome = decode(dealer.recv());
            assertEquals(Command.Type.WELCOME, welcome.type());
            assertEquals(400, welcome.intervalMillis());
            assertEquals(4, welcome.liveness());
            assertTrue(welcome.session() > 0);
            assertTrue(router.peer(id).orElseThrow().heartbeating());

            dealer.send(Command.heartbeat().encode());
            assertEquals(Command.Type.HEARTBEAT, decode(dealer.recv()).type(), "the router answers each heartbeat");

            // Application data that starts with the signature travels escaped, both ways, and arrives unchanged.
            byte[] lookalike = Command.bye().encode();
            dealer.sendMore(Command.dataFrame());
            dealer.send(lookalike);
            Message m = router.receive(Duration.ofSeconds(5));
            assertNotNull(m);
            assertEquals(1, m.frames().size());
            assertArrayEquals(lookalike, m.first());
            router.send(id, lookalike);
            ZMsg back = ZMsg.recvMsg(dealer);
            assertEquals(2, back.size());
            assertEquals(welcome.session(), Command.sessionOfData(back.pop().getData()), "tagged with its session");
            assertArrayEquals(lookalike, back.pop().getData());

            dealer.send(Command.bye().encode());
            EventRecorder.Seen left = events.awaitType(PeerEvent.Type.LEFT, id, 0, Duration.ofSeconds(5));
            assertEquals(EvictReason.BYE, left.event.reason());
            assertTrue(router.peer(id).isEmpty());
        }
    }

    @Test
    void protocolPeerWhoseApplicationStopsHeartbeatingIsEvictedAndTold() {
        // Its connection stays healthy (JeroMQ's I/O thread still answers PINGs); only the application went quiet.
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("hung");
        Duration interval = Duration.ofMillis(300);
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .heartbeatInterval(interval).liveness(3).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "hung", router.endpoints().get(0));
            long helloSent = System.nanoTime(); // the router heard it after this...
            dealer.send(Command.hello(new byte[16], 1, 0).encode());
            assertEquals(Command.Type.WELCOME, decode(dealer.recv()).type());
            long welcomed = System.nanoTime(); // ...and before this

            EventRecorder.Seen suspect = events.awaitType(PeerEvent.Type.SUSPECT, id, 0, Duration.ofSeconds(5));
            EventRecorder.Seen evicted = events.awaitEvicted(id, 0, Duration.ofSeconds(5));
            assertEquals(EvictReason.HEARTBEAT_TIMEOUT, evicted.event.reason());
            assertTrue(evicted.nanos - helloSent >= interval.toNanos() * 3, "not before interval x liveness");
            long silence = evicted.nanos - welcomed;
            assertTrue(silence <= interval.toNanos() * 4, "within interval x liveness + one interval, was " + silence / 1_000_000 + " ms");
            assertTrue(suspect.nanos < evicted.nanos);

            Command disconnect = decode(dealer.recv());
            assertEquals(Command.Type.DISCONNECT, disconnect.type(), "the client is told before its connection is shut");
            assertEquals(Command.Reason.EVICTED, disconnect.reason());
        }
    }

    @Test
    void closingRouterSpreadsTheReturnOfItsProtocolPeersAtTheJoinRate() throws Exception {
        int peers = 5;
        try (ZContext ctx = Dealers.context()) {
            LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*")
                    .heartbeatInterval(Duration.ofSeconds(2)).maxJoinsPerSecond(10).build(); // these peers never heartbeat
            List<ZMQ.Socket> dealers = new ArrayList<>();
            for (int i = 0; i < peers; i++) {
                ZMQ.Socket d = Dealers.connect(ctx, "leaving-" + i, router.endpoints().get(0));
                d.send(Command.hello(new byte[16], 1, 0).encode());
                assertEquals(Command.Type.WELCOME, decode(d.recv()).type());
                dealers.add(d);
            }
            router.close();
            List<Integer> retries = new ArrayList<>();
            for (ZMQ.Socket d : dealers) {
                Command bye = decode(d.recv());
                assertEquals(Command.Type.DISCONNECT, bye.type());
                assertEquals(Command.Reason.SHUTTING_DOWN, bye.reason());
                retries.add(bye.retryAfterMillis());
            }
            Collections.sort(retries);
            // one interval, then one slot (1 / 10 per second = 100 ms) apart: not the same moment for all
            assertEquals(List.of(2000, 2100, 2200, 2300, 2400), retries);
        }
    }

    private static Command decode(byte[] frame) {
        assertNotNull(frame, "no reply from the router");
        try {
            return Command.decode(frame);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
