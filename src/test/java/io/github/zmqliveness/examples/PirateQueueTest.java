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
 * Two workers, each behind a TCP proxy; one freezes (its proxy keeps both connections open and forwards nothing);
 * every request is still answered (Lazy Pirate clients ask again), the queue drops the frozen worker, and the live
 * one serves everything after.
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
            List<String> after = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String reply = client.request("b" + i, 10);
                assertNotNull(reply, "request b" + i + " after the freeze, retries " + client.retries);
                assertTrue(reply.endsWith(":b" + i), reply);
                after.add(reply);
            }
            // The frozen worker is gone from the queue, and stays gone while frozen; the live one answers all.
            await().atMost(Duration.ofSeconds(20)).until(() -> freeWorkers.getAsInt() <= 1);
            for (int i = 0; i < 10; i++) {
                assertEquals("live:c" + i, client.request("c" + i, 10));
            }
            assertTrue(client.retries <= 5, "requests asked again: " + client.retries
                    + " (only those the frozen worker held before it was dropped)");
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
        }
    }
}
