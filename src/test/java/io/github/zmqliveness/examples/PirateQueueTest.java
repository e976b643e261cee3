package io.github.zmqliveness.examples;

import io.github.zmqliveness.cli.TcpProxy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The migration recipe's promise: the Paranoid Pirate queue on a caller-driven LivenessRouter behaves as the raw one.
 * Two workers, each behind a TCP proxy, both serve; then one freezes (its proxy keeps both connections open and
 * forwards nothing): the queue drops it from silence alone, and the live one answers every request after that.
 */
class PirateQueueTest {
    private static final long INTERVAL_MS = 200;
    private static final int LIVENESS = 3;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"raw", "liveness"})
    void aFrozenWorkerIsDroppedAndEveryRequestIsStillAnswered(String kind) throws Exception {
        List<AutoCloseable> open = new ArrayList<>();
        try {
            String backend;
            String frontend;
            IntSupplier freeWorkers;
            if (kind.equals("raw")) {
                RawPirateQueue q = new RawPirateQueue(INTERVAL_MS, LIVENESS);
                open.add(q);
                backend = q.backendEndpoint();
                frontend = q.frontendEndpoint();
                freeWorkers = q::freeWorkers;
            } else {
                LivenessPirateQueue q = new LivenessPirateQueue(Duration.ofMillis(INTERVAL_MS), LIVENESS);
                open.add(q);
                backend = q.backendEndpoint();
                frontend = q.frontendEndpoint();
                freeWorkers = q::freeWorkers;
            }
            TcpProxy toFrozen = TcpProxy.to(backend);
            TcpProxy toLive = TcpProxy.to(backend);
            open.add(toFrozen);
            open.add(toLive);
            if (kind.equals("raw")) {
                open.add(new RawPirateWorker("frozen", toFrozen.endpoint(), INTERVAL_MS, LIVENESS));
                open.add(new RawPirateWorker("live", toLive.endpoint(), INTERVAL_MS, LIVENESS));
            } else {
                open.add(new LivenessPirateWorker("frozen", toFrozen.endpoint(), Duration.ofMillis(INTERVAL_MS), LIVENESS));
                open.add(new LivenessPirateWorker("live", toLive.endpoint(), Duration.ofMillis(INTERVAL_MS), LIVENESS));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> freeWorkers.getAsInt() == 2);
            LazyPirateClient client = new LazyPirateClient(frontend, 1_000);
            open.add(client);
            List<String> before = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String reply = client.request("a" + i, 10);
                assertNotNull(reply, "request a" + i);
                before.add(reply);
            }
            assertTrue(before.contains("frozen:a0") || before.contains("frozen:a1"), "both workers served: " + before);
            assertTrue(before.stream().anyMatch(r -> r.startsWith("live:")), "both workers served: " + before);

            toFrozen.freeze();
            // The queue drops the frozen worker on its own, from silence alone: no request is sent meanwhile that
            // could find it dead.
            await().atMost(Duration.ofSeconds(20)).until(() -> freeWorkers.getAsInt() == 1);
            int retriesBefore = client.retries;
            for (int i = 0; i < 20; i++) {
                assertEquals("live:b" + i, client.request("b" + i, 10));
            }
            assertEquals(retriesBefore, client.retries, "no request went to the frozen worker once it was dropped");
            // The live worker is free again once the queue has passed its last reply on (the client may see the reply
            // first); the frozen one never comes back.
            await().during(Duration.ofMillis(5 * INTERVAL_MS)).atMost(Duration.ofSeconds(20))
                    .until(() -> freeWorkers.getAsInt() <= 1);
            await().atMost(Duration.ofSeconds(20)).until(() -> freeWorkers.getAsInt() == 1);
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
        }
    }
}
