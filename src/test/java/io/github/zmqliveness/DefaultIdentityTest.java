package io.github.zmqliveness;

import io.github.zmqliveness.support.Closer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A DealerClient built without an identity gets one no other client on the host has: two of them (as two processes on
 * one host would be) both join one router and are both served, with no conflict between them.
 */
class DefaultIdentityTest {
    private final Closer closer = new Closer();

    @AfterEach
    void stop() throws Exception {
        closer.close();
    }

    @Test
    void twoClientsWithTheDefaultIdentityAreTwoPeers() {
        AtomicReference<LivenessRouter> self = new AtomicReference<>();
        LivenessRouter router = closer.keep(LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(Duration.ofMillis(200))
                .handler(m -> self.get().reply(m, m.frames())).build());
        self.set(router);
        DealerClient a = closer.keep(DealerClient.builder().connect(router.endpoints().get(0)).heartbeat(Duration.ofMillis(200), 3).build());
        DealerClient b = closer.keep(DealerClient.builder().connect(router.endpoints().get(0)).heartbeat(Duration.ofMillis(200), 3).build());
        assertNotEquals(a.identity(), b.identity());
        String pid = "/" + ProcessHandle.current().pid() + "-";
        assertTrue(a.identity().toString().contains(pid), "host, pid and count: " + a.identity());
        await().atMost(Duration.ofSeconds(20)).until(() -> a.state() == ClientState.READY && b.state() == ClientState.READY);
        for (DealerClient c : new DealerClient[] {a, b}) {
            c.send(c.identity().toString().getBytes(StandardCharsets.UTF_8));
            Message echo = c.receive(Duration.ofSeconds(20));
            assertNotNull(echo, "echo to " + c.identity());
            assertEquals(c.identity().toString(), new String(echo.first(), StandardCharsets.UTF_8));
        }
        assertEquals(2, router.peerCount());
        assertEquals(0, router.stats().get("conflicts") + router.stats().get("refusedIdentityInUse"), router.stats().toString());
        assertTrue(a.state() == ClientState.READY && b.state() == ClientState.READY, "neither stopped the other");
    }

    @Test
    void aLongHostNameIsCutToFitTheIdentity() {
        Identity id = DealerClient.Builder.defaultIdentity("h".repeat(300), 123456, 7);
        assertEquals(Identity.MAX_LENGTH, id.length());
        assertTrue(id.toString().endsWith("/123456-7"), id.toString());
        assertEquals("db.example/42-1", DealerClient.Builder.defaultIdentity("db.example", 42, 1).toString());
    }
}
