package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Starved, not stopped: with the machine's cores saturated by eight busy-looping processes for the soak duration
 * ({@code -Dsoak.seconds}, default 60), a router with live peers (plain libzmq DEALERs and raw libzmq protocol
 * clients, each in a process of its own) must falsely evict none of them, at the default ZMTP settings. Tagged
 * {@code soak}: run with {@code mvn -B test -Dgroups=soak -DexcludedGroups= -Dtest=StarvationSoakTest}.
 */
class StarvationSoakTest {
    private static final int PLAIN = 10;
    private static final int ZLP = 10;
    private static final int HOGS = 8;

    @Tag("soak")
    @ParameterizedTest(name = "heartbeat {0} ms x 3")
    @ValueSource(longs = {200, 1000})
    void aStarvedRouterFalselyEvictsNoLivePeer(long intervalMillis) throws Exception {
        Facilities.requirePyzmq();
        Duration soak = Duration.ofSeconds(Long.getLong("soak.seconds", 60));
        EventRecorder events = new EventRecorder();
        List<ChildProcess> children = new ArrayList<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(Duration.ofMillis(intervalMillis))
                .liveness(3).listener(events).handler(m -> { }).build()) {
            String endpoint = router.endpoints().get(0);
            for (int i = 0; i < PLAIN; i++) {
                children.add(ChildProcess.libzmqDealer(endpoint, "plain-" + i, intervalMillis));
            }
            String script = ChildProcess.class.getResource("/zlp_client.py").getPath();
            for (int i = 0; i < ZLP; i++) {
                children.add(ChildProcess.start(List.of(Facilities.PYTHON, "-u", script, "--endpoint", endpoint, "--identity", "zlp-" + i,
                        "--run-seconds", Long.toString(soak.getSeconds() + 60))));
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> router.peerCount() == PLAIN + ZLP);
            RouterStats before = router.stats();
            int eventsBefore = events.events().size();
            for (int i = 0; i < HOGS; i++) {
                children.add(ChildProcess.start(List.of(Facilities.PYTHON, "-c", "while True: pass")));
            }
            // The fault is the starvation itself, for its whole duration.
            await().pollDelay(soak).atMost(soak.plusSeconds(5)).until(() -> true);
            String load = new String(java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/proc/loadavg"))).trim();
            for (int i = children.size() - HOGS; i < children.size(); i++) {
                children.get(i).kill();
            }
            List<PeerEvent> during = events.events().subList(eventsBefore, events.events().size());
            long evicted = during.stream().filter(e -> e.type() == PeerEvent.Type.EVICTED).count();
            long suspected = during.stream().filter(e -> e.type() == PeerEvent.Type.SUSPECT).count();
            RouterStats after = router.stats();
            System.out.printf("starvation %d ms x 3, %d s, %d hogs on %d cores: %d false evictions (%s), %d suspicions, "
                            + "%d stalls (%d ms in all), peers at the end %d of %d; /proc/loadavg at the end: %s%n", intervalMillis, soak.getSeconds(), HOGS,
                    Runtime.getRuntime().availableProcessors(), evicted,
                    during.stream().filter(e -> e.type() == PeerEvent.Type.EVICTED).map(e -> e.identity() + ":" + e.reason()).reduce((x, y) -> x + " " + y).orElse(""),
                    suspected, after.get("stalls") - before.get("stalls"), after.get("stalledMillis") - before.get("stalledMillis"),
                    router.peerCount(), PLAIN + ZLP, load);
            assertEquals(0, evicted, "live peers evicted while the machine was starved: " + during);
        } finally {
            for (ChildProcess c : children) {
                c.close();
            }
        }
    }
}
