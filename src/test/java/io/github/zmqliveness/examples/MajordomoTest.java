package io.github.zmqliveness.examples;

import io.github.zmqliveness.cli.TcpProxy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The migration recipe's promise for a Majordomo broker: on a caller-driven LivenessRouter with DealerClient workers
 * it behaves as the raw one. Two workers of service "echo", each behind a TCP proxy, both serve and the service
 * directory answers; then one freezes (its proxy keeps both connections open and forwards nothing): the broker drops
 * it from silence alone, and the live one answers every request after that.
 */
class MajordomoTest {
    private static final long INTERVAL_MS = 200;
    private static final int LIVENESS = 3;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"raw", "liveness"})
    void aFrozenWorkerIsDroppedAndEveryRequestIsStillAnswered(String kind) throws Exception {
        List<AutoCloseable> open = new ArrayList<>();
        try {
            String endpoint;
            ToIntFunction<String> workers;
            if (kind.equals("raw")) {
                RawMajordomoBroker broker = new RawMajordomoBroker(INTERVAL_MS, LIVENESS);
                open.add(broker);
                endpoint = broker.endpoint();
                workers = broker::workers;
            } else {
                LivenessMajordomoBroker broker = new LivenessMajordomoBroker(Duration.ofMillis(INTERVAL_MS), LIVENESS);
                open.add(broker);
                endpoint = broker.endpoint();
                workers = broker::workers;
            }
            TcpProxy toFrozen = TcpProxy.to(endpoint);
            TcpProxy toLive = TcpProxy.to(endpoint);
            open.add(toFrozen);
            open.add(toLive);
            if (kind.equals("raw")) {
                open.add(new RawMajordomoWorker("frozen", "echo", toFrozen.endpoint(), INTERVAL_MS, LIVENESS));
                open.add(new RawMajordomoWorker("live", "echo", toLive.endpoint(), INTERVAL_MS, LIVENESS));
            } else {
                open.add(new LivenessMajordomoWorker("frozen", "echo", toFrozen.endpoint(), Duration.ofMillis(INTERVAL_MS), LIVENESS));
                open.add(new LivenessMajordomoWorker("live", "echo", toLive.endpoint(), Duration.ofMillis(INTERVAL_MS), LIVENESS));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> workers.applyAsInt("echo") == 2);
            MajordomoClient client = new MajordomoClient(endpoint, 1_000);
            open.add(client);
            assertEquals("200", client.request("mmi.service", "echo", 10), "the directory knows echo");
            assertEquals("404", client.request("mmi.service", "nothing", 10), "the directory knows no such service");
            List<String> before = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String reply = client.request("echo", "a" + i, 10);
                assertNotNull(reply, "request a" + i);
                before.add(reply);
            }
            assertTrue(before.stream().anyMatch(r -> r.startsWith("frozen:")), "both workers served: " + before);
            assertTrue(before.stream().anyMatch(r -> r.startsWith("live:")), "both workers served: " + before);

            toFrozen.freeze();
            // The broker drops the frozen worker on its own, from silence alone: no request is sent meanwhile that
            // could find it dead.
            await().atMost(Duration.ofSeconds(20)).until(() -> workers.applyAsInt("echo") == 1);
            int retriesBefore = client.retries;
            for (int i = 0; i < 20; i++) {
                assertEquals("live:b" + i, client.request("echo", "b" + i, 10));
            }
            assertEquals(retriesBefore, client.retries, "no request went to the frozen worker once it was dropped");
            assertEquals(1, workers.applyAsInt("echo"), "the frozen worker stays dropped");
            assertEquals("200", client.request("mmi.service", "echo", 10));
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
        }
    }
}
