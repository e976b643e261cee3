package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The session guarantee for a client written from PROTOCOL.md alone on libzmq 4.3 (src/test/resources/zlp_client.py,
 * Debian's python3-zmq), in the field report's own scenario: an old instance that stopped reading with 3,000 echoes
 * of 8 KB backed up, then a new instance under the same routing id.
 */
class LibzmqSessionTest {
    private static final Duration INTERVAL = Duration.ofSeconds(1);

    private static List<String> zlpClient(String endpoint, String identity, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Facilities.PYTHON, "-u",
                ChildProcess.class.getResource("/zlp_client.py").getPath(), "--endpoint", endpoint, "--identity", identity));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static long number(String json, String field) {
        Matcher m = Pattern.compile("\"" + field + "\": (-?[0-9.]+)").matcher(json);
        assertTrue(m.find(), field + " in " + json);
        return (long) Double.parseDouble(m.group(1));
    }

    @Test
    void aRestartedLibzmqProtocolClientNeverDeliversItsPreviousLifesBacklogAndIsServedAtOnce() throws Exception {
        Facilities.requirePyzmq();
        AtomicReference<LivenessRouter> self = new AtomicReference<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .handler(m -> self.get().send(m.identity(), m.frames())).build()) { // echo to whoever holds the identity, as --echo
            self.set(router);
            String endpoint = router.endpoints().get(0);
            long stale = 0;
            for (int trial = 0; trial < 5; trial++) {
                String name = "host-" + trial;
                Identity id = Identity.of(name);
                try (ChildProcess old = ChildProcess.start(zlpClient(endpoint, name, "--send", "3000", "--size", "8192", "--no-read",
                        "--rcvhwm", "10"))) {
                    old.awaitLine("{\"event\": \"sent\"", Duration.ofSeconds(20));
                    await().atMost(Duration.ofSeconds(30)).until(() -> router.peer(id).map(PeerSnapshot::queuedMessages).orElse(0) > 0);
                    // The old life ends (its process killed: its connection closes) and the client starts again. While
                    // the old one lived, a new instance would be refused: a live client keeps its identity.
                    old.kill();
                    try (ChildProcess fresh = ChildProcess.start(zlpClient(endpoint, name, "--send", "20", "--size", "64",
                            "--run-seconds", "3"))) {
                        String summary = fresh.awaitLine("{\"event\": \"summary\"", Duration.ofSeconds(30));
                        assertTrue(summary.contains("\"delivered_seqs_ok\": true"),
                                "trial " + trial + ": the new instance delivered a message that was not its own: " + summary);
                        assertEquals(20, number(summary, "delivered"), "trial " + trial + ": all of its own echoes: " + summary);
                        assertTrue(number(summary, "welcome_ms") <= INTERVAL.toMillis(),
                                "trial " + trial + ": WELCOME within one interval of HELLO: " + summary);
                        stale += number(summary, "stale_dropped");
                    }
                }
            }
            System.out.println("libzmq restarts: 5, stale messages dropped by the new instances: " + stale
                    + "; router dropped " + router.stats().get("droppedStaleSession"));
            assertTrue(router.stats().get("droppedStaleSession") > 0, router.stats().toString());
        }
    }
}
