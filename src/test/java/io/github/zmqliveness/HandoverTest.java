package io.github.zmqliveness;

import io.github.zmqliveness.cli.TcpProxy;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import io.github.zmqliveness.support.Net;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that moves to a new address under the same identity (a laptop going from Wi-Fi to VPN):
 * the router must keep exactly one connection for it, shut the old one at once, and report a
 * takeover, not a conflict.
 */
class HandoverTest {
    private final EventRecorder events = new EventRecorder();
    private LivenessRouter router;
    private ZContext ctx;
    private int routerPort;

    @BeforeEach
    void start() {
        Facilities.requireProcFs();
        // A long heartbeat: the old connection must go because of the takeover, not because ZMTP reaped it.
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(Duration.ofSeconds(20))
                .listener(events).build();
        routerPort = Net.port(router.endpoints().get(0));
        ctx = Dealers.context();
    }

    @AfterEach
    void stop() {
        if (ctx != null) {
            ctx.close();
        }
        if (router != null) {
            router.close();
        }
    }

    @Test
    void handedOverIdentityLeavesNoOldConnectionBehind() throws Exception {
        Identity laptop = Identity.of("laptop");
        try (TcpProxy wifi = TcpProxy.to(router.endpoints().get(0))) {
            ZMQ.Socket onWifi = Dealers.connect(ctx, "laptop", wifi.endpoint());
            onWifi.send("from wifi");
            String wifiAddress = events.awaitType(PeerEvent.Type.JOINED, laptop, 0, Duration.ofSeconds(10)).event.address();
            int oldPort = Net.port(wifiAddress);
            List<Net.Tcp> oldSockets = Net.between(routerPort, oldPort);
            assertEquals(1, oldSockets.size(), "one router-side socket for the wifi connection: " + oldSockets);
            long oldInode = oldSockets.get(0).inode;
            assertTrue(Net.socketInodes().contains(oldInode), "the router holds a file descriptor for it");

            // The wifi link dies silently (no FIN), and the laptop comes back over another route.
            wifi.freeze();
            ZMQ.Socket onVpn = Dealers.connect(ctx, "laptop", router.endpoints().get(0));
            onVpn.send("from vpn");

            PeerEvent took = events.awaitType(PeerEvent.Type.TOOK_OVER, laptop, 0, Duration.ofSeconds(10)).event;
            assertEquals(wifiAddress, took.previousAddress());
            assertNotEquals(wifiAddress, took.address());

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                List<Net.Tcp> left = Net.between(routerPort, oldPort).stream()
                        .filter(t -> t.state.equals("ESTABLISHED") || t.state.equals("CLOSE_WAIT")).collect(Collectors.toList());
                assertTrue(left.isEmpty(), "old connection still open on the router side: " + left);
                assertTrue(!Net.socketInodes().contains(oldInode), "the router still holds the old socket's file descriptor");
            });
            assertEquals(0, events.count(PeerEvent.Type.CONFLICT, laptop), "one move is a takeover, not a conflict");
            assertEquals(0, events.count(PeerEvent.Type.EVICTED, laptop));
            PeerSnapshot row = router.peer(laptop).orElseThrow();
            assertEquals(took.address(), row.address());
            assertEquals(1, row.takeovers());

            // Replies reach the laptop on its new connection.
            assertEquals(SendResult.QUEUED, router.send(laptop, "welcome back".getBytes()));
            assertEquals("welcome back", onVpn.recvStr());
            assertEquals(1, router.stats().get("zombiesShut"));
        }
    }
}
