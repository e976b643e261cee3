package io.github.zmqliveness;

import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import io.github.zmqliveness.support.Net;
import org.junit.jupiter.api.Test;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** close() gives back every thread, socket and file descriptor, in bounded time. */
class CloseTest {
    private static Set<String> threads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName).collect(Collectors.toSet());
    }

    @Test
    void closeReleasesThreadsSocketsAndFileDescriptorsWithinTheTimeout() {
        Facilities.requireProcFs();
        try (ZContext ctx = Dealers.context()) {
            ZMQ.Socket dealer = Dealers.connect(ctx, "witness", "tcp://127.0.0.1:1"); // warm up JeroMQ's own classes and fds
            ctx.destroySocket(dealer);
            int fdsBefore = Net.openFds();
            Set<String> threadsBefore = threads();

            EventRecorder events = new EventRecorder();
            LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").listener(events).build();
            java.util.List<ZMQ.Socket> dealers = new java.util.ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ZMQ.Socket d = Dealers.connect(ctx, "client-" + i, router.endpoints().get(0));
                d.send("hi");
                dealers.add(d);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> router.peerCount() == 5);
            assertTimeoutPreemptively(Duration.ofSeconds(6), router::close, "close is bounded by the close timeout (5 s)");

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                Set<String> extra = threads();
                extra.removeAll(threadsBefore);
                extra.removeIf(n -> !(n.startsWith("zmq-liveness") || n.startsWith("reaper") || n.startsWith("iothread")));
                assertEquals(Set.of(), extra, "threads left behind by the router");
            });
            int drained = 0;
            while (router.receive(Duration.ofSeconds(10)) != null) { // what was received before close is not lost
                drained++;
            }
            assertEquals(5, drained);
            assertNull(router.receive());
            assertEquals(0, router.peerCount());
            assertEquals(SendResult.CLOSED, router.send(Identity.of("client-0"), "x".getBytes()));
            dealers.forEach(ctx::destroySocket);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(true, Net.openFds() <= fdsBefore + 2,
                    "file descriptors: " + fdsBefore + " before, " + Net.openFds() + " after"));
        }
    }

    @Test
    void bindingAnAddressInUseFailsWithAClearMessageAndLeavesNothingRunning() {
        try (LivenessRouter first = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build()) {
            Set<String> before = threads();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LivenessRouter.builder().bind(first.endpoints().get(0)).build());
            assertEquals(true, e.getMessage().contains(first.endpoints().get(0)), e.getMessage());
            await().atMost(Duration.ofSeconds(10)).until(() -> threads().stream()
                    .filter(n -> n.startsWith("zmq-liveness") && !before.contains(n)).count() == 0);
        }
    }

    @Test
    void builderRejectsATransportTimeoutThatJeromqWouldMishandle() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder()
                .transportHeartbeat(Duration.ofSeconds(1), Duration.ofSeconds(1)));
        assertEquals(true, e.getMessage().contains("interval / 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder().build(), "no endpoint");
        assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder().liveness(0));
        assertThrows(IllegalArgumentException.class, () -> DealerClient.builder()
                .transportHeartbeat(Duration.ofMillis(500), Duration.ofMillis(600)), "the client has the same guard");
    }
}
