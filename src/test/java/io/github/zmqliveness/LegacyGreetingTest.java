package io.github.zmqliveness;

import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Peers that do not speak ZMTP 3 are refused in the handshake by default: random bytes (which JeroMQ would read as a
 * ZMTP 1.0 peer, and keep for good) and real ZMTP 1.0 and 2.0 greetings. {@code acceptLegacyZmtp(true)} serves them.
 */
class LegacyGreetingTest {
    private static final Duration HANDSHAKE = Duration.ofSeconds(1);

    /** A ZMTP 1.0 peer: an identity frame, then one message, each as length (flags included), flags, body. */
    private static byte[] zmtp10(String identity, String body) {
        byte[] id = identity.getBytes(StandardCharsets.US_ASCII);
        byte[] b = body.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[2 + id.length + 2 + b.length];
        out[0] = (byte) (id.length + 1);
        out[1] = 0;
        System.arraycopy(id, 0, out, 2, id.length);
        out[2 + id.length] = (byte) (b.length + 1);
        out[3 + id.length] = 0;
        System.arraycopy(b, 0, out, 4 + id.length, b.length);
        return out;
    }

    /** A ZMTP 2.0 greeting: signature with the "more" bit set, revision 1, socket type DEALER, then an identity frame. */
    private static byte[] zmtp20Greeting() {
        return new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 5, 0, 0};
    }

    private static byte[] randomBytes(long seed) {
        byte[] b = new byte[512];
        new Random(seed).nextBytes(b);
        b[0] = 'R'; // not 0xff: what JeroMQ takes for a ZMTP 1.0 identity header
        return b;
    }

    /**
     * Sends {@code bytes} on a fresh TCP connection and reports whether the router closed it within the handshake
     * interval and a margin (end of stream or reset), reading and forgetting what it sends meanwhile.
     */
    private static boolean closedByRouter(LivenessRouter router, byte[] bytes) throws IOException {
        String endpoint = router.endpoints().get(0);
        int port = Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            s.setSoTimeout(200);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[1024];
            long deadline = System.nanoTime() + HANDSHAKE.toNanos() + TimeUnit.SECONDS.toNanos(4);
            while (System.nanoTime() < deadline) {
                try {
                    if (in.read(buf) < 0) {
                        return true;
                    }
                } catch (SocketTimeoutException e) {
                    // still open: read again until the deadline
                } catch (IOException e) {
                    return true; // reset by the router
                }
            }
            return false;
        }
    }

    @Test
    void randomBytesAndZmtp1And2GreetingsAreRefusedAndNeverJoin() throws Exception {
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").handshakeInterval(HANDSHAKE)
                .listener(events).build()) {
            assertTrue(closedByRouter(router, randomBytes(1)), "random bytes: connection closed");
            assertTrue(closedByRouter(router, randomBytes(2)), "random bytes: connection closed");
            assertTrue(closedByRouter(router, zmtp10("old-peer", "hello")), "ZMTP 1.0: connection closed");
            assertTrue(closedByRouter(router, zmtp20Greeting()), "ZMTP 2.0: connection closed");
            await().atMost(Duration.ofSeconds(10)).until(() -> router.stats().get("closedBeforeFirstMessage") == 4);
            assertEquals(0, router.peerCount());
            assertEquals(0, router.stats().messagesReceived());
            assertTrue(events.events().isEmpty(), "no peer event for a refused greeting: " + events.events());
            assertEquals(0, router.connectionCount(), "nothing left open");
        }
    }

    @Test
    void acceptLegacyZmtpServesAZmtp1Peer() throws Exception {
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").handshakeInterval(HANDSHAKE)
                .acceptLegacyZmtp(true).listener(events).build()) {
            String endpoint = router.endpoints().get(0);
            int port = Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                s.getOutputStream().write(zmtp10("old-peer", "hello"));
                s.getOutputStream().flush();
                Message m = router.receive(Duration.ofSeconds(10));
                assertTrue(m != null, "the ZMTP 1.0 peer's message is delivered");
                assertEquals(Identity.of("old-peer"), m.identity());
                assertEquals("hello", new String(m.first(), StandardCharsets.US_ASCII));
                await().atMost(Duration.ofSeconds(10)).until(() -> !events.events().isEmpty()); // events come on their own thread
                assertEquals(PeerEvent.Type.JOINED, events.events().get(0).type());
            }
        }
    }
}
