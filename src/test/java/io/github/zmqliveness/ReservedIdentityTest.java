package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A client that claims an identity ZeroMQ reserves (0x00 first) is served, counted, and told apart. */
class ReservedIdentityTest {
    @Test
    void jeromqDealerWithAReservedIdentityIsServedAndCounted() {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build(); ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = ctx.createSocket(SocketType.DEALER);
            dealer.setIdentity(new byte[] {0, 'x', 'y'});
            dealer.setLinger(0);
            dealer.setHandshakeIvl(1000); // a fresh connect occasionally stalls in the handshake; retry it quickly
            dealer.connect(router.endpoints().get(0));
            dealer.send("reserved");
            Message m = router.receive(Duration.ofSeconds(10));
            assertNotNull(m);
            System.out.println("reserved identity arrived as " + m.identity());
            assertTrue(m.identity().isGenerated());
            assertEquals(1, router.stats().get("receivedAnonymous"));
            router.send(m.identity(), "ok".getBytes());
            assertEquals("ok", new String(dealer.recv()));
        }
    }
}
