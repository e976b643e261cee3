package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/PROTOCOL.md section 8, followed by a client on libzmq 4.3.4 (no ZMQ_HELLO_MSG; Debian's python3-zmq,
 * src/test/resources/zlp_client_434.py): a socket of its own per connection says HELLO first on every connection,
 * and every DISCONNECT the server sends just before it shuts the connection is read and obeyed, even behind a
 * backlog the client has not read when the connection ends: ten evictions in a row, then the router's close.
 */
class LibzmqProtocolRecipeTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);
    /** Fits in the pipes (send high-water mark 1,000), so the DISCONNECT is written behind it, not dropped. */
    private static final int BACKLOG = 500;
    private static final byte[] PAYLOAD = new byte[1024];
    private static final Pattern REASON = Pattern.compile("\"reason\": (\\d+), \"retry_after_ms\": (\\d+)");
    private static final Pattern WAITED = Pattern.compile("\"waited_ms\": (\\d+), \"told_ms\": (\\d+|null)");

    private static List<String> events(ChildProcess client, String event) {
        return client.lines().stream().filter(l -> l.startsWith("{\"event\": \"" + event + "\"")).collect(Collectors.toList());
    }

    @Test
    void aLibzmq434ClientSaysHelloOnEveryConnectionAndHearsEveryDisconnect() throws Exception {
        Facilities.requirePyzmq();
        Identity id = Identity.of("recipe-434");
        int evictions = 10;
        LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3).build();
        try (ChildProcess client = ChildProcess.start(List.of(Facilities.PYTHON, "-u",
                ChildProcess.class.getResource("/zlp_client_434.py").getPath(), "--endpoint", router.endpoints().get(0),
                "--identity", id.toString(), "--run-seconds", "120", "--work-us", "300"))) {
            for (int i = 1; i <= evictions; i++) {
                int welcomes = i;
                await().atMost(Duration.ofSeconds(20)).until(() -> events(client, "welcome").size() >= welcomes);
                await().atMost(Duration.ofSeconds(20)).until(() -> router.peer(id).isPresent());
                // A backlog ahead of the DISCONNECT, 0.3 ms of work each: the connection is shut (50 ms after the
                // DISCONNECT is written) long before the client has read its way to it.
                for (int m = 0; m < BACKLOG; m++) {
                    router.send(id, PAYLOAD);
                }
                assertTrue(router.evict(id), "eviction " + i);
                int disconnects = i;
                await().atMost(Duration.ofSeconds(20)).until(() -> events(client, "disconnect").size() >= disconnects);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> events(client, "welcome").size() >= evictions + 1);
            await().atMost(Duration.ofSeconds(20)).until(() -> router.peer(id).isPresent());
            router.close();
            await().atMost(Duration.ofSeconds(20)).until(() -> events(client, "disconnect").size() >= evictions + 1);

            List<String> disconnects = events(client, "disconnect");
            assertEquals(evictions + 1, disconnects.size(), "every DISCONNECT heard, none twice: " + disconnects);
            for (int i = 0; i <= evictions; i++) {
                Matcher m = REASON.matcher(disconnects.get(i));
                assertTrue(m.find(), disconnects.get(i));
                assertEquals(i < evictions ? 1 : 3, Integer.parseInt(m.group(1)), "EVICTED ten times, then SHUTTING_DOWN: " + disconnects);
            }
            // Each HELLO opened a session the server answered: one WELCOME per connection, each after its own HELLO.
            assertEquals(evictions + 1, events(client, "welcome").size(), client.lines().toString());
            // The client kept every retry after it was told before it came back.
            for (String line : events(client, "reconnect")) {
                Matcher m = WAITED.matcher(line);
                assertTrue(m.find(), line);
                assertTrue(!m.group(2).equals("null"), "every connection ended with a DISCONNECT: " + client.lines());
                assertTrue(Long.parseLong(m.group(1)) >= Long.parseLong(m.group(2)), line);
            }
        } finally {
            router.close();
        }
    }
}
