package io.github.zmqliveness.transport;

import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wake-up of a router that waits on its own ROUTER socket (a caller-driven router's handle, or the threaded loop's
 * blocking receive): a wake while the loop sleeps makes the ROUTER readable, with a message the loop recognises as its
 * own; wakes while one is in flight, or while the loop is in its turn, send nothing more.
 */
class SocketWakerTest {
    @Test
    void aWakeMakesTheRouterReadableOnceUntilItIsRead() {
        try (ZContext ctx = new ZContext(1)) {
            ZMQ.Socket router = ctx.createSocket(SocketType.ROUTER);
            router.bind("inproc://waker-test");
            router.setReceiveTimeOut(20_000);
            try (SocketWaker waker = new SocketWaker(ctx, "inproc://waker-test")) {
                waker.sleeping(false);
                waker.wake(); // the loop is in its turn: it looks at its queues before it sleeps, no message needed
                waker.sleeping(true);
                waker.wake();
                waker.wake(); // one in flight already
                byte[] id = router.recv(0);
                assertTrue(id != null && waker.isMine(id), "the wake-up, under the waker's own routing id");
                assertEquals(0, router.recv(0).length, "an empty body");
                router.setReceiveTimeOut(200);
                assertNull(router.recv(0), "the in-turn wake and the second wake sent nothing");
                assertFalse(waker.isMine(new byte[] {0, 1, 2}), "another peer's id is not the waker's");
                waker.received();
                waker.wake();
                router.setReceiveTimeOut(20_000);
                assertTrue(waker.isMine(router.recv(0)), "after the loop read one, the next wake sends again");
            }
        }
    }
}
