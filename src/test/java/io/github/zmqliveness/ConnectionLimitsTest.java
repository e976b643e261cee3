package io.github.zmqliveness;

import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The limits an operator can set on connections: each bites where it should, is counted and reported. */
class ConnectionLimitsTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** A TCP connection from {@code source} (an address on the loopback) that never sends a byte. */
    private static Socket silent(String source, String endpoint) throws IOException {
        URI uri = URI.create(endpoint);
        Socket s = new Socket();
        s.bind(new InetSocketAddress(source, 0));
        s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
        return s;
    }

    private static void closeAll(List<Socket> sockets) throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
    }

    @Test
    void connectionsFromOneHostAreLimitedAndOtherHostsAreNot() throws Exception {
        EventRecorder events = new EventRecorder();
        List<Socket> sockets = new ArrayList<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").handshakeInterval(Duration.ofSeconds(30))
                .maxConnectionsPerHost(3).listener(events).build()) {
            String endpoint = router.endpoints().get(0);
            for (int i = 0; i < 5; i++) {
                sockets.add(silent("127.0.0.2", endpoint));
            }
            await().atMost(WAIT).until(() -> router.stats().get("connectionsRefusedPerHost") == 2);
            await().atMost(WAIT).until(() -> router.connectionCount() == 3);
            List<PeerEvent> refused = events.events().stream().filter(e -> e.type() == PeerEvent.Type.REFUSED)
                    .collect(java.util.stream.Collectors.toList());
            assertEquals(2, refused.size(), refused.toString());
            for (PeerEvent e : refused) {
                assertEquals(RefusalReason.LIMIT, e.refusal());
                assertTrue(e.address().startsWith("127.0.0.2:"), e.toString());
            }
            // Another host is not held to 127.0.0.2's count.
            for (int i = 0; i < 3; i++) {
                sockets.add(silent("127.0.0.3", endpoint));
            }
            await().atMost(WAIT).until(() -> router.connectionCount() == 6);
            assertEquals(2, router.stats().get("connectionsRefusedPerHost"));
            // Once 127.0.0.2's connections close, it may connect again.
            closeAll(sockets.subList(0, 5));
            await().atMost(WAIT).until(() -> router.connectionCount() == 3);
            sockets.add(silent("127.0.0.2", endpoint));
            await().atMost(WAIT).until(() -> router.connectionCount() == 4);
            assertEquals(2, router.stats().get("connectionsRefusedPerHost"));
        } finally {
            closeAll(sockets);
        }
    }

    @Test
    void connectionsThatHaveNotSpokenAreLimitedAndAClientGetsInOnceTheyAreGone() throws Exception {
        EventRecorder events = new EventRecorder();
        List<Socket> sockets = new ArrayList<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").handshakeInterval(Duration.ofSeconds(2))
                .maxUnheardConnections(4).listener(events).build()) {
            String endpoint = router.endpoints().get(0);
            for (int i = 0; i < 6; i++) {
                sockets.add(silent("127.0.0.1", endpoint));
            }
            await().atMost(WAIT).until(() -> router.stats().get("connectionsRefusedUnheard") == 2);
            assertEquals(0, router.stats().get("connectionsRefusedPerHost"));
            // The handshake interval closes the four silent ones; then a real client is served.
            try (DealerClient client = DealerClient.builder().identity("late").connect(endpoint)
                    .heartbeat(Duration.ofMillis(200), 3).build()) {
                await().atMost(WAIT).until(() -> client.state() == ClientState.READY);
                assertTrue(router.peer(Identity.of("late")).isPresent());
            }
            assertTrue(events.events().stream().anyMatch(e -> e.type() == PeerEvent.Type.REFUSED && e.refusal() == RefusalReason.LIMIT));
        } finally {
            closeAll(sockets);
        }
    }

    @Test
    void limitsMustNotBeNegative() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> LivenessRouter.builder().maxConnectionsPerHost(-1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> LivenessRouter.builder().maxUnheardConnections(-1));
    }
}
