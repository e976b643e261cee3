package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two live clients with one identity must be reported as a conflict and stopped from flapping. */
class ConflictTest {
    @Test
    void twoLiveClientsSharingAnIdentityAreAConflictAndAreQuarantinedInsteadOfFlapping() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity twin = Identity.of("twin");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .conflictPolicy(3, Duration.ofSeconds(10), Duration.ofSeconds(4)).build();
             ZContext ctxA = Dealers.context(); ZContext ctxB = Dealers.context()) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread a = chatter(Dealers.connect(ctxA, "twin", router.endpoints().get(0)), "a", stop);
            Thread b = chatter(Dealers.connect(ctxB, "twin", router.endpoints().get(0)), "b", stop);
            try {
                EventRecorder.Seen conflict = events.awaitType(PeerEvent.Type.CONFLICT, twin, 0, Duration.ofSeconds(15));
                events.await(EventRecorder.evicted(twin, EvictReason.CONFLICT), conflict.nanos, Duration.ofSeconds(5));
                assertEquals(PeerState.QUARANTINED, router.peer(twin).orElseThrow().state());
                assertEquals(SendResult.QUARANTINED, router.send(twin, "x".getBytes()));

                // While quarantined both keep trying; the identity must not join or flap.
                long takeoversAtConflict = events.count(PeerEvent.Type.TOOK_OVER, twin);
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
                        .until(() -> events.count(PeerEvent.Type.TOOK_OVER, twin) == takeoversAtConflict
                                && events.count(PeerEvent.Type.JOINED, twin) == 1);
                assertTrue(router.stats().get("receivedQuarantined") > 0, "their messages were refused and counted");
                assertTrue(takeoversAtConflict <= 2, "flapped " + takeoversAtConflict + " times before the conflict was declared");

                // After the quarantine the identity may join again (and, still shared, conflicts again).
                events.awaitType(PeerEvent.Type.JOINED, twin, conflict.nanos, Duration.ofSeconds(15));
            } finally {
                stop.set(true);
                a.join(5000);
                b.join(5000);
            }
        }
    }

    @Test
    void oneClientMovingBetweenConnectionsQuicklyIsNotAConflict() throws Exception {
        // During a reconnect storm one client's attempts can fail one after another while the router still
        // holds its earlier connections: each new HELLO is a takeover. With the same instance id in every HELLO
        // it is one client, and it must not be quarantined (DealerClient stops for good on CONFLICT).
        EventRecorder events = new EventRecorder();
        Identity mover = Identity.of("mover");
        byte[] instance = new byte[16];
        new java.util.Random(7).nextBytes(instance);
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events)
                .conflictPolicy(3, Duration.ofSeconds(10), Duration.ofSeconds(4))
                .heartbeatInterval(Duration.ofSeconds(10)).build(); // these sockets send no heartbeats
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket previous = null;
            for (int i = 0; i < 5; i++) {
                // The previous socket stays open. HELLO as ZeroMQ's hello message, so a connection that JeroMQ drops
                // in a stuck handshake and makes again says it again (as DealerClient does).
                ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
                s.setIdentity("mover".getBytes(StandardCharsets.UTF_8));
                s.setLinger(0);
                s.setHandshakeIvl(1000);
                // The router shuts the connection it took the identity from; that socket must not come back
                // (a DealerClient closes it) before the test closes it, or the two would hand the identity back
                // and forth. A stuck handshake of this socket still gets a new connection within the timeout.
                s.setReconnectIVL(4_000);
                s.setReceiveTimeOut(15_000);
                s.setHelloMsg(Command.hello(instance, i + 1, 0).encode());
                s.connect(router.endpoints().get(0));
                byte[] answer = s.recv();
                assertNotNull(answer, "no answer to HELLO " + i);
                assertEquals(Command.Type.WELCOME, Command.decode(answer).type(), "HELLO " + i + " was answered otherwise");
                if (previous != null) {
                    previous.close();
                }
                previous = s;
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> events.count(PeerEvent.Type.TOOK_OVER, mover) >= 4);
            assertEquals(0, events.count(PeerEvent.Type.CONFLICT, mover));
            assertEquals(0, router.stats().get("conflicts"));
            assertEquals(PeerState.ALIVE, router.peer(mover).orElseThrow().state());
        }
    }

    private static Thread chatter(ZMQ.Socket s, String who, AtomicBoolean stop) {
        Thread t = new Thread(() -> {
            int n = 0;
            while (!stop.get()) {
                s.send((who + n++).getBytes(), ZMQ.DONTWAIT);
                s.recv(ZMQ.DONTWAIT);
                try {
                    Thread.sleep(30); // the client's own send pace, not a test wait
                } catch (InterruptedException e) {
                    return;
                }
            }
            s.close();
        }, "twin-" + who);
        t.start();
        return t;
    }
}
