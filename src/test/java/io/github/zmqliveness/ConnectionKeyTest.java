package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The router knows a connection by the connection (its channel, or both ends' addresses), never by the peer's
 * {@code ip:port} alone, which two live connections can share.
 */
class ConnectionKeyTest {

    @Test
    void twoClientsFromOneSourcePortOnTwoEndpointsAreTwoConnections() throws Exception {
        Facilities.requirePyzmq();
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").bind("tcp://127.0.0.1:*")
                .heartbeatInterval(Duration.ofMillis(500)).listener(events).handler(m -> { }).build()) {
            int source;
            try (ServerSocket probe = new ServerSocket(0)) {
                source = probe.getLocalPort();
            }
            // libzmq's "source;destination" endpoint binds the source port (with SO_REUSEADDR): both clients come
            // from 127.0.0.1:source, one to each bound endpoint.
            String a = router.endpoints().get(0).replace("tcp://", "tcp://127.0.0.1:" + source + ";");
            String b = router.endpoints().get(1).replace("tcp://", "tcp://127.0.0.1:" + source + ";");
            try (ChildProcess x = ChildProcess.libzmqDealer(a, "x", 100); ChildProcess y = ChildProcess.libzmqDealer(b, "y", 100)) {
                Identity idX = Identity.of("x");
                Identity idY = Identity.of("y");
                PeerEvent joinedX = events.awaitType(PeerEvent.Type.JOINED, idX, 0, Duration.ofSeconds(20)).event;
                PeerEvent joinedY = events.awaitType(PeerEvent.Type.JOINED, idY, 0, Duration.ofSeconds(20)).event;
                assertEquals("127.0.0.1:" + source, joinedX.address());
                assertEquals(joinedX.address(), joinedY.address(), "both connections have the same remote ip:port");
                assertEquals(2, router.connectionCount());

                // Evicting x shuts x's connection, found by x's own connection, not by the ip:port that y shares.
                long evictedAt = System.nanoTime();
                assertTrue(router.evict(idX));
                EventRecorder.Seen gone = events.awaitEvicted(idX, evictedAt, Duration.ofSeconds(10));
                assertEquals(EvictReason.EXPLICIT, gone.event.reason());
                java.time.Instant ySince = router.peer(idY).orElseThrow().connectedSince();
                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    assertEquals(0, events.count(PeerEvent.Type.EVICTED, idY), "y lost its connection with x's eviction");
                    assertEquals(ySince, router.peer(idY).orElseThrow().connectedSince(), "y is on its first connection");
                });
                assertEquals(SendResult.QUEUED, router.send(idY, "still here".getBytes(StandardCharsets.UTF_8)));
                y.awaitLine("reply still here", Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void evictionsWithFourIoThreadsCloseExactlyTheEvictedConnections() {
        EventRecorder events = new EventRecorder();
        int n = 16;
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").ioThreads(4).listener(events)
                .handler(m -> { }).build();
             ZContext ctx = Dealers.context()) {
            List<ZMQ.Socket> dealers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
                s.setIdentity(("d" + i).getBytes(StandardCharsets.UTF_8));
                s.setLinger(0);
                s.setReconnectIVL(-1); // an evicted one stays away, so its closed connection stays visible
                s.setReceiveTimeOut(10_000);
                s.connect(router.endpoints().get(0));
                s.send("hi");
                dealers.add(s);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> router.peerCount() == n && router.connectionCount() == n);
            for (int i = 0; i < n; i += 2) {
                assertTrue(router.evict(Identity.of("d" + i)));
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertEquals(n / 2, router.connectionCount(), "the evicted connections are closed, and only they");
                assertEquals(n / 2, router.peerCount());
            });
            for (int i = 1; i < n; i += 2) {
                Identity id = Identity.of("d" + i);
                assertEquals(0, events.count(PeerEvent.Type.EVICTED, id));
                assertEquals(SendResult.QUEUED, router.send(id, ("to d" + i).getBytes(StandardCharsets.UTF_8)));
                byte[] got = dealers.get(i).recv();
                assertNotNull(got, "d" + i + " is still served");
                assertEquals("to d" + i, new String(got, StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void aSourcePortTheKernelHandsOutAgainLeavesTheNewConnectionAlone() throws Exception {
        Facilities.requirePyzmq();
        EventRecorder events = new EventRecorder();
        Identity id = Identity.of("reuser");
        java.util.concurrent.Semaphore inHandler = new java.util.concurrent.Semaphore(0);
        java.util.concurrent.Semaphore release = new java.util.concurrent.Semaphore(0);
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(Duration.ofMillis(500))
                .listener(events).handler(m -> {
                    if ("hold".equals(new String(m.first(), StandardCharsets.UTF_8))) {
                        inHandler.release();
                        try {
                            release.tryAcquire(20, java.util.concurrent.TimeUnit.SECONDS); // the loop waits, on purpose
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }).build();
             ZContext ctx = Dealers.context()) {
            ZMQ.Socket staller = Dealers.connect(ctx, "staller", router.endpoints().get(0));
            int source;
            try (ServerSocket probe = new ServerSocket(0)) {
                source = probe.getLocalPort();
            }
            // Every life of the client comes from the same source port: each new connection reuses the dead one's ip:port.
            String endpoint = router.endpoints().get(0).replace("tcp://", "tcp://127.0.0.1:" + source + ";");
            int reused = 0;
            for (int trial = 0; trial < 5; trial++) {
                ChildProcess a = ChildProcess.libzmqDealer(endpoint, "reuser", 50);
                await().atMost(Duration.ofSeconds(20)).until(() -> router.peer(id).isPresent());
                // While the loop is held, the old life dies and the new one connects from the same ip:port: the loop
                // then sees the new connection before the old one's DISCONNECTED, which names the same ip:port.
                staller.send("hold");
                assertTrue(inHandler.tryAcquire(20, java.util.concurrent.TimeUnit.SECONDS));
                a.kill();
                try (ChildProcess b = ChildProcess.libzmqDealer(endpoint, "reuser", 50)) {
                    b.awaitLine("ready", Duration.ofSeconds(20));
                    // Time for JeroMQ's I/O thread to take the new connection in while the loop is still held.
                    await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).until(() -> true);
                    release.release();
                    String text = "to life " + trial;
                    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
                        router.send(id, text.getBytes(StandardCharsets.UTF_8));
                        return b.lines().stream().anyMatch(l -> l.startsWith("reply " + text));
                    });
                    if (router.peer(id).map(p -> p.address().equals("127.0.0.1:" + source)).orElse(false)) {
                        reused++;
                    }
                    long evictionsSoFar = events.count(PeerEvent.Type.EVICTED, id);
                    await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                        assertEquals(evictionsSoFar, events.count(PeerEvent.Type.EVICTED, id), "the new life was evicted: "
                                + events.of(id));
                        assertEquals(2, router.connectionCount(), "the new life's connection and the staller's");
                    });
                    b.kill();
                    await().atMost(Duration.ofSeconds(20)).until(() -> router.peer(id).isEmpty());
                }
            }
            assertTrue(reused > 0, "the kernel never handed the same port out again");
        }
    }
}
