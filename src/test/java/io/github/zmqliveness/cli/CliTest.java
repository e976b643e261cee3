package io.github.zmqliveness.cli;

import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.CurveKeyPair;
import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.PeerEvent;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliTest {
    /** For the client end to end test: detection times are not its subject; an interval a loaded machine does not miss by accident is. */
    private static final String E2E_HEARTBEAT = "500ms";

    // ------------------------------------------------------------------ durations

    @Test
    void parsesDurationsWithUnits() {
        assertEquals(Duration.ofMillis(200), Durations.parse("200ms"));
        assertEquals(Duration.ofSeconds(1), Durations.parse("1s"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("1.5s"));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
        assertEquals(Duration.ofMillis(500), Durations.parse(".5s"));
        assertEquals(Duration.ofNanos(250_000), Durations.parse("0.25ms"));
        assertEquals(Duration.ZERO, Durations.parse("0s"));
    }

    @Test
    void refusesWhatIsNotADuration() {
        for (String bad : Arrays.asList("", "200", "1.5", "1h", "-1s", "1 s", "s", "1,5s", "1.5.1s", "99999999999999999999m")) {
            assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("200"));
        assertTrue(e.getMessage().contains("unit"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Durations.parsePositive("0ms"));
    }

    @Test
    void formatsDurationsAsTheParserReadsThem() {
        for (String text : Arrays.asList("200ms", "1s", "1.5s", "120s", "1234ms")) {
            assertEquals(Durations.parse(text), Durations.parse(Durations.format(Durations.parse(text))), text);
        }
    }

    // ------------------------------------------------------------------ JSON

    @Test
    void escapesJsonStrings() {
        assertEquals("\"plain\"", Json.quote("plain"));
        assertEquals("\"a\\\"b\\\\c\"", Json.quote("a\"b\\c"));
        assertEquals("\"\\u000a\\u000d\\u0009\\u0000\\u001f\\u007f\"", Json.quote("\n\r\t\u0000\u001f\u007f"));
        assertEquals("\"\u00e9t\u00e9 \ud83d\ude00\"", Json.quote("\u00e9t\u00e9 \ud83d\ude00"), "printable non-ASCII stays as it is");
        assertEquals("\"\\ud83d!\"", Json.quote("\ud83d!"), "a lone surrogate cannot be written as UTF-8");
        assertEquals("\"\\u2028\"", Json.quote("\u2028"));
        assertEquals("null", Json.quote(null));
    }

    @Test
    void buildsOneLineObjects() {
        Map<String, Long> stats = new java.util.LinkedHashMap<>();
        stats.put("joins", 2L);
        stats.put("evictions", 1L);
        String json = new JsonObject()
                .put("event", "stopped")
                .put("endpoints", Arrays.asList("tcp://127.0.0.1:5555", "tcp://[::1]:5556"))
                .put("n", 3)
                .put("ok", true)
                .putIfPresent("absent", null)
                .put("stats", stats)
                .toString();
        assertEquals("{\"event\":\"stopped\",\"endpoints\":[\"tcp://127.0.0.1:5555\",\"tcp://[::1]:5556\"],\"n\":3,\"ok\":true,"
                + "\"stats\":{\"joins\":2,\"evictions\":1}}", json);
    }

    @Test
    void writesPeerEventsWithSnakeCaseNames() {
        Instant t = Instant.parse("2024-05-01T10:00:00.123Z");
        PeerEvent tookOver = new PeerEvent(PeerEvent.Type.TOOK_OVER, Identity.of("lap\"top"), "10.0.0.2:4000", "10.0.0.1:3000", null, t);
        assertEquals("{\"event\":\"took_over\",\"identity\":\"lap\\\"top\",\"address\":\"10.0.0.2:4000\","
                + "\"previous_address\":\"10.0.0.1:3000\",\"time\":\"2024-05-01T10:00:00.123Z\"}", PeerEventJson.of(tookOver).toString());
        PeerEvent evicted = new PeerEvent(PeerEvent.Type.EVICTED, Identity.of(new byte[] {1, (byte) 0xff}), "10.0.0.2:4000", null,
                EvictReason.TRANSPORT_LOST, t);
        assertEquals("{\"event\":\"evicted\",\"identity\":\"hex:01ff\",\"address\":\"10.0.0.2:4000\",\"reason\":\"transport_lost\","
                + "\"time\":\"2024-05-01T10:00:00.123Z\"}", PeerEventJson.of(evicted).toString());
    }

    @Test
    void writesClientEventsWithTheFieldsThatApply() {
        Instant t = Instant.parse("2024-05-01T10:00:00.123Z");
        Identity id = Identity.of("host-a");
        String endpoint = "tcp://127.0.0.1:5555";
        assertEquals("{\"event\":\"connected\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\",\"session\":7,"
                + "\"time\":\"2024-05-01T10:00:00.123Z\"}",
                ClientEventJson.of(id, new ClientEvent(ClientEvent.Type.CONNECTED, endpoint, 7, false, null, null, null, t)).toString());
        assertEquals("{\"event\":\"rejoined\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\",\"session\":8,"
                + "\"resumed\":true,\"time\":\"2024-05-01T10:00:00.123Z\"}",
                ClientEventJson.of(id, new ClientEvent(ClientEvent.Type.REJOINED, endpoint, 8, true, null, null, null, t)).toString());
        assertEquals("{\"event\":\"disconnected\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\",\"session\":8,"
                + "\"cause\":\"server_silent\",\"time\":\"2024-05-01T10:00:00.123Z\"}",
                ClientEventJson.of(id, new ClientEvent(ClientEvent.Type.DISCONNECTED, endpoint, 8, false, ClientEvent.Cause.SERVER_SILENT,
                        null, null, t)).toString());
        assertEquals("{\"event\":\"told_to_leave\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\","
                + "\"reason\":\"try_later\",\"retry_after_ms\":1500,\"time\":\"2024-05-01T10:00:00.123Z\"}",
                ClientEventJson.of(id, new ClientEvent(ClientEvent.Type.TOLD_TO_LEAVE, endpoint, 8, false, null, ClientEvent.Reason.TRY_LATER,
                        Duration.ofMillis(1500), t)).toString());
        assertEquals("{\"event\":\"stopped\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\","
                + "\"reason\":\"conflict\",\"time\":\"2024-05-01T10:00:00.123Z\"}",
                ClientEventJson.of(id, new ClientEvent(ClientEvent.Type.STOPPED, endpoint, 8, false, null, ClientEvent.Reason.CONFLICT,
                        null, t)).toString());
    }

    @Test
    void writesReceivedMessagesWithTheirSequenceNumberOrText() {
        Instant t = Instant.parse("2024-05-01T10:00:00Z");
        Identity id = Identity.of("host-a");
        String endpoint = "tcp://127.0.0.1:5555";
        Message echoed = new Message(id, List.of(ClientEventJson.seqPayload(42)), endpoint);
        assertEquals(42, ClientEventJson.seqOf(echoed));
        assertEquals("{\"event\":\"message\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\",\"seq\":42,"
                + "\"time\":\"2024-05-01T10:00:00Z\"}", ClientEventJson.ofMessage(id, echoed, t).toString());
        Message other = new Message(id, List.of("seq 4x\n".getBytes(StandardCharsets.UTF_8)), endpoint);
        assertEquals(-1, ClientEventJson.seqOf(other));
        assertEquals("{\"event\":\"message\",\"identity\":\"host-a\",\"endpoint\":\"tcp://127.0.0.1:5555\",\"text\":\"seq 4x\\u000a\","
                + "\"time\":\"2024-05-01T10:00:00Z\"}", ClientEventJson.ofMessage(id, other, t).toString());
        Message twoFrames = new Message(id, List.of(ClientEventJson.seqPayload(1), new byte[] {1}), endpoint);
        assertEquals(-1, ClientEventJson.seqOf(twoFrames), "a numbered message is one frame");
        assertTrue(ClientEventJson.ofMessage(id, twoFrames, t).toString().contains("\"text\":\"seq 1\",\"frames\":2,"));
    }

    // ------------------------------------------------------------------ command line

    @Test
    void theDemoThatTheReadmeRunsPassesEveryFaultCheck() {
        // README, set-up: the main job is `java -jar target/zmq-liveness-cli.jar demo`; a change of events or rules
        // that its checks do not expect must fail here, not on a new user's machine.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(List.of("demo"), new PrintStream(out, true), new PrintStream(err, true));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(Main.EXIT_OK, code, printed + err);
        assertTrue(printed.contains("result: PASS"), printed);
    }

    @Test
    void badCommandLinesExitWithUsage() {
        for (List<String> args : Arrays.asList(List.<String>of(), List.of("frobnicate"), List.of("router"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--heartbeat", "fast"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--liveness", "0"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--verbose"),
                List.of("router", "--bind"), List.of("demo", "--fast"),
                List.of("client"), List.of("client", "--identity", "host-a"), List.of("client", "--connect", "tcp://127.0.0.1:5555"),
                List.of("client", "--connect", "127.0.0.1:5555", "--identity", "host-a"),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", ""),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", "host-a", "--count", "0"),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", "host-a", "--count", "many"),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", "host-a", "--interval", "100"),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", "host-a", "--heartbeat", "1ms"),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", "host-a", "--no-resume=yes"),
                List.of("keygen", "--bits", "256"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--curve-secret", "too-short", "--authorized-keys", "k"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--curve-secret", CurveKeyPair.generate().secretKey()),
                List.of("client", "--connect", "tcp://127.0.0.1:5555", "--identity", "host-a", "--curve-server-key",
                        CurveKeyPair.generate().publicKey()))) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Main.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true));
            assertEquals(Main.EXIT_USAGE, code, args.toString());
            assertTrue(err.toString().contains("usage:"), args + ": " + err);
        }
    }

    @Test
    void readsRouterOptions() throws UsageException {
        RouterOptions o = RouterOptions.parse(Arrays.asList("--bind", "tcp://127.0.0.1:5555", "--bind=tcp://127.0.0.1:5556",
                "--heartbeat", "1.5s", "--liveness=4", "--echo"));
        assertEquals(Arrays.asList("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556"), o.endpoints);
        assertEquals(Duration.ofMillis(1500), o.heartbeat);
        assertEquals(4, o.liveness);
        assertTrue(o.echo);
    }

    @Test
    void readsClientOptions() throws UsageException {
        ClientOptions one = ClientOptions.parse(Arrays.asList("--connect", "tcp://127.0.0.1:5555", "--identity", "host-a"));
        assertEquals(List.of("host-a"), one.identities);
        assertEquals(ClientOptions.DEFAULT_INTERVAL, one.interval);
        assertEquals(ClientOptions.DEFAULT_HEARTBEAT, one.heartbeat);
        assertEquals(ClientOptions.DEFAULT_LIVENESS, one.liveness);
        assertTrue(one.resume);

        ClientOptions many = ClientOptions.parse(Arrays.asList("--connect", "tcp://127.0.0.1:5555", "--connect=tcp://127.0.0.1:5556",
                "--identity=host-a", "--count", "3", "--interval", "100ms", "--heartbeat", "200ms", "--liveness", "4", "--no-resume"));
        assertEquals(Arrays.asList("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556"), many.endpoints);
        assertEquals(Arrays.asList("host-a-0", "host-a-1", "host-a-2"), many.identities);
        assertEquals(Duration.ofMillis(100), many.interval);
        assertEquals(Duration.ofMillis(200), many.heartbeat);
        assertEquals(4, many.liveness);
        assertFalse(many.resume);
    }

    /**
     * A client command with --stop-on-conflict whose identity a live client holds: refused with CONFLICT, it stops and
     * exits 1 with its summary; the holder is undisturbed.
     */
    @Test
    void clientCommandWithStopOnConflictExitsWhenItsIdentityIsHeldByAnother() throws Exception {
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(Duration.ofMillis(200)).build();
             io.github.zmqliveness.DealerClient holder = io.github.zmqliveness.DealerClient.builder().identity("twin")
                     .connect(router.endpoints().get(0)).heartbeat(Duration.ofMillis(200), 3).build()) {
            await().atMost(Duration.ofSeconds(20)).until(() -> holder.state() == io.github.zmqliveness.ClientState.READY);
            List<String> args = List.of("client", "--connect", router.endpoints().get(0), "--identity", "twin", "--interval", "100ms",
                    "--heartbeat", "200ms", "--stop-on-conflict");
            List<ByteArrayOutputStream> outs = new ArrayList<>();
            List<CompletableFuture<Integer>> runs = new ArrayList<>();
            for (int i = 0; i < 1; i++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                outs.add(out);
                PrintStream stdout = new PrintStream(out, true, StandardCharsets.UTF_8);
                runs.add(CompletableFuture.supplyAsync(() -> Main.run(args, stdout, new PrintStream(new ByteArrayOutputStream(), true))));
            }
            await("the client command ends by itself").atMost(Duration.ofSeconds(30))
                    .until(() -> runs.stream().allMatch(CompletableFuture::isDone));
            for (int i = 0; i < 1; i++) {
                String text = outs.get(i).toString(StandardCharsets.UTF_8);
                assertEquals(Main.EXIT_FAILED, runs.get(i).get(), text);
                assertTrue(text.contains("{\"event\":\"stopped\",\"identity\":\"twin\""), text);
                assertTrue(text.contains("\"reason\":\"conflict\""), text);
                String last = text.substring(text.trim().lastIndexOf('\n') + 1);
                assertTrue(last.startsWith("{\"event\":\"exited\"") && last.contains("\"twin\":{\"state\":\"stopped\""), last);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> holder.state() == io.github.zmqliveness.ClientState.READY);
            assertEquals(0, router.stats().conflicts(), "the holder kept its identity");
        }
    }

    // ------------------------------------------------------------------ end to end

    @Test
    void routerCommandReportsAStallOfItsOwnProcess() throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Process router = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "router", "--bind", "tcp://127.0.0.1:*", "--heartbeat", "200ms", "--liveness", "3").start();
        Lines out = Lines.of(router.getInputStream());
        Lines err = Lines.of(router.getErrorStream());
        try {
            endpointOf(out, err);
            String pid = Long.toString(router.pid());
            assertEquals(0, new ProcessBuilder("kill", "-STOP", pid).start().waitFor());
            // The fault is the pause itself: the router's process does not run for two seconds.
            await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true);
            assertEquals(0, new ProcessBuilder("kill", "-CONT", pid).start().waitFor());
            String stalled = await("stalled line").atMost(Duration.ofSeconds(10))
                    .until(() -> out.find("{\"event\":\"stalled\""), Optional::isPresent).get();
            Matcher m = Pattern.compile("\"duration_ms\":(\\d+)").matcher(stalled);
            assertTrue(m.find(), stalled);
            // What the loop can see: how much later than it asked it came back (it was asked to wait up to 500 ms).
            assertTrue(Long.parseLong(m.group(1)) >= 1_400, stalled);
            assertTrue(stalled.contains("\"time\":"), stalled);
        } finally {
            router.toHandle().destroy();
            if (!router.waitFor(20, TimeUnit.SECONDS)) {
                router.destroyForcibly();
            }
        }
    }

    @Test
    void routerCommandReportsJoinEchoAndEvictionAndStopsOnSigterm() throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Process router = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "router", "--bind", "tcp://127.0.0.1:*", "--heartbeat", "200ms", "--liveness", "3", "--echo").start();
        Lines out = Lines.of(router.getInputStream());
        Lines err = Lines.of(router.getErrorStream());
        try {
            String endpoint = endpointOf(out, err);

            try (ZContext context = new ZContext()) {
                ZMQ.Socket dealer = context.createSocket(SocketType.DEALER);
                dealer.setIdentity("host-a".getBytes(StandardCharsets.UTF_8));
                dealer.setLinger(0);
                // JeroMQ now and then leaves a fresh connection stuck in its handshake (30 s by default): give up
                // on it after 1 s, and queue the message only on a connection whose handshake completed.
                dealer.setHandshakeIvl(1000);
                dealer.setImmediate(true);
                dealer.setSendTimeOut(10_000);
                dealer.connect(endpoint);
                assertTrue(dealer.send("ping-1"));

                await("joined line for host-a").atMost(Duration.ofSeconds(10))
                        .until(() -> out.find("\"event\":\"joined\",\"identity\":\"host-a\""), Optional::isPresent);
                await("echo").atMost(Duration.ofSeconds(10)).pollInSameThread()
                        .until(() -> dealer.recvStr(ZMQ.DONTWAIT), equalTo("ping-1"));

                dealer.close();
            }
            String evicted = await("evicted line for host-a").atMost(Duration.ofSeconds(10))
                    .until(() -> out.find("\"event\":\"evicted\",\"identity\":\"host-a\""), Optional::isPresent).get();
            assertTrue(evicted.contains("\"reason\":\"transport_lost\""), evicted);
        } finally {
            // SIGTERM. Not Process.destroy(): it also closes our ends of the pipes, and the last line would be lost.
            router.toHandle().destroy();
            if (!router.waitFor(20, TimeUnit.SECONDS)) {
                router.destroyForcibly();
            }
        }
        assertEquals(0, router.exitValue(), "exit code after SIGTERM; stderr: " + err);
        await("stopped line; stdout: " + out + "\nstderr: " + err).atMost(Duration.ofSeconds(5))
                .until(() -> out.find("\"event\":\"stopped\""), Optional::isPresent);
        String stopped = out.find("\"event\":\"stopped\"").get();
        assertTrue(stopped.contains("\"stats\":{\"joins\":1,"), stopped);
    }

    /**
     * The two commands together, as separate processes: {@code router --echo} and
     * {@code client --count 2}. Numbered messages come back; a router stopped by SIGTERM is
     * noticed by both clients, which rejoin by themselves when it is started again on the same
     * port; SIGTERM ends everything with exit code 0.
     */
    @Test
    void clientCommandRoundTripsThroughTheRouterAndRejoinsAfterARestart() throws Exception {
        List<Process> processes = new ArrayList<>();
        try {
            Process router = start(processes, "router", "--bind", "tcp://127.0.0.1:*", "--heartbeat", E2E_HEARTBEAT, "--echo");
            Lines routerOut = Lines.of(router.getInputStream());
            Lines routerErr = Lines.of(router.getErrorStream());
            String endpoint = endpointOf(routerOut, routerErr);

            Process client = start(processes, "client", "--connect", endpoint, "--identity", "host-a", "--count", "2",
                    "--interval", "100ms", "--heartbeat", E2E_HEARTBEAT);
            Lines clientOut = Lines.of(client.getInputStream());
            Lines clientErr = Lines.of(client.getErrorStream());
            List<String> ids = List.of("host-a-0", "host-a-1");
            for (String id : ids) {
                awaitLine(clientOut, 0, "connected", id, clientErr);
                awaitLine(routerOut, 0, "joined", id, routerErr);
                // Every numbered message comes back, in order: the first ones at least, seq 1, 2, 3.
                await("seq 1..3 echoed to " + id + "; stdout:\n" + clientOut).atMost(Duration.ofSeconds(20))
                        .until(() -> seqs(clientOut, 0, id).size() >= 3);
                assertEquals(List.of(1L, 2L, 3L), seqs(clientOut, 0, id).subList(0, 3), clientOut.toString());
            }
            assertTrue(clientOut.lines.get(0).startsWith("{\"event\":\"starting\",\"identities\":[\"host-a-0\",\"host-a-1\"]"),
                    clientOut.lines.get(0));

            // The router goes away: both clients notice.
            int beforeStop = clientOut.size();
            router.toHandle().destroy(); // SIGTERM
            assertTrue(router.waitFor(20, TimeUnit.SECONDS), "router did not stop");
            assertEquals(0, router.exitValue(), "router exit code after SIGTERM; stderr: " + routerErr);
            for (String id : ids) {
                awaitLine(clientOut, beforeStop, "disconnected", id, clientErr);
            }

            // The router comes back on the same port: both clients rejoin by themselves, and messages flow again.
            int beforeRestart = clientOut.size();
            Process router2 = start(processes, "router", "--bind", endpoint, "--heartbeat", E2E_HEARTBEAT, "--echo");
            Lines router2Out = Lines.of(router2.getInputStream());
            Lines router2Err = Lines.of(router2.getErrorStream());
            assertEquals(endpoint, endpointOf(router2Out, router2Err));
            for (String id : ids) {
                int rejoined = awaitLine(clientOut, beforeRestart, "rejoined", id, clientErr);
                awaitLine(router2Out, 0, "joined", id, router2Err);
                await("seq echoed to " + id + " after the rejoin").atMost(Duration.ofSeconds(20))
                        .until(() -> !seqs(clientOut, rejoined, id).isEmpty());
            }

            // Everything stops on SIGTERM with exit code 0; the client's last line sums up each client.
            client.toHandle().destroy();
            assertTrue(client.waitFor(20, TimeUnit.SECONDS), "client did not stop");
            assertEquals(0, client.exitValue(), "client exit code after SIGTERM; stderr: " + clientErr);
            await("exited line; stdout:\n" + clientOut).atMost(Duration.ofSeconds(5))
                    .until(() -> clientOut.find("\"event\":\"exited\"").isPresent());
            String exited = clientOut.find("\"event\":\"exited\"").get();
            for (String id : ids) {
                assertTrue(exited.contains("\"" + id + "\":{\"state\":\"ready\""), exited);
            }
            Matcher sessions = Pattern.compile("\"sessions\":(\\d+)").matcher(exited);
            for (String id : ids) {
                assertTrue(sessions.find() && Long.parseLong(sessions.group(1)) >= 2, "a session before and after the restart: " + exited);
            }
            await("left lines").atMost(Duration.ofSeconds(10))
                    .until(() -> ids.stream().allMatch(id -> router2Out.find("\"event\":\"left\",\"identity\":\"" + id + "\"").isPresent()));
            router2.toHandle().destroy();
            assertTrue(router2.waitFor(20, TimeUnit.SECONDS), "second router did not stop");
            assertEquals(0, router2.exitValue(), "second router exit code after SIGTERM; stderr: " + router2Err);
        } finally {
            for (Process p : processes) {
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** Runs {@code keygen} in this JVM: its one JSON line, as public and secret key. */
    private static String[] keygen() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(Main.EXIT_OK, Main.run(List.of("keygen"), new PrintStream(out, true), System.err));
        String line = out.toString(StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("^\\{\"public\":\"(.{40})\",\"secret\":\"(.{40})\"\\}\n$").matcher(line);
        assertTrue(m.matches(), "one JSON line with two 40-character keys: " + line);
        return new String[] {m.group(1), m.group(2)};
    }

    /**
     * CURVE from the command line: {@code keygen} makes the keys, the router serves a client whose key the
     * authorized-keys file lists (under the file's identity) and prints a {@code refused} line for a key it does not.
     */
    @Test
    void curveRouterServesAnAuthorizedClientAndRefusesAnUnknownKey(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String[] server = keygen();
        String[] client = keygen();
        String[] stranger = keygen();
        Path keys = dir.resolve("authorized_keys");
        Files.writeString(keys, "# clients\n" + client[0] + " host-c\n");
        List<Process> processes = new ArrayList<>();
        try {
            Process router = start(processes, "router", "--bind", "tcp://127.0.0.1:*", "--heartbeat", E2E_HEARTBEAT, "--echo",
                    "--curve-secret", server[1], "--authorized-keys", keys.toString());
            Lines routerOut = Lines.of(router.getInputStream());
            Lines routerErr = Lines.of(router.getErrorStream());
            String endpoint = endpointOf(routerOut, routerErr);
            String listening = routerOut.find("\"event\":\"listening\"").orElseThrow();
            assertTrue(listening.contains("\"curve_public_key\":" + Json.quote(server[0])), "the public key clients need: " + listening);

            Process good = start(processes, "client", "--connect", endpoint, "--identity", "host-c", "--interval", "100ms",
                    "--heartbeat", E2E_HEARTBEAT, "--curve-server-key", server[0], "--curve-public", client[0], "--curve-secret", client[1]);
            Lines goodOut = Lines.of(good.getInputStream());
            Lines goodErr = Lines.of(good.getErrorStream());
            awaitLine(goodOut, 0, "connected", "host-c", goodErr);
            awaitLine(routerOut, 0, "joined", "host-c", routerErr);
            await("seq echoed to host-c").atMost(Duration.ofSeconds(20)).until(() -> !seqs(goodOut, 0, "host-c").isEmpty());

            start(processes, "client", "--connect", endpoint, "--identity", "host-c", "--interval", "100ms", "--heartbeat",
                    E2E_HEARTBEAT, "--curve-server-key", server[0], "--curve-public", stranger[0], "--curve-secret", stranger[1]);
            String refused = await("refused line; stdout:\n" + routerOut).atMost(Duration.ofSeconds(20))
                    .until(() -> routerOut.find("\"event\":\"refused\""), Optional::isPresent).get();
            assertTrue(refused.contains("\"reason\":\"unknown_key\"") && refused.contains("\"address\":\"127.0.0.1"), refused);
            assertTrue(routerOut.find("\"event\":\"took_over\"").isEmpty(), "host-c was not disturbed: " + routerOut);
        } finally {
            for (Process p : processes) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Starts the tool in a JVM of its own with this test's class path. */
    private static Process start(List<Process> started, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(command).start();
        started.add(p);
        return p;
    }

    /** The endpoint a router command says it listens on. */
    private static String endpointOf(Lines out, Lines err) {
        String listening = await("listening line; stderr: " + err).atMost(Duration.ofSeconds(30))
                .until(() -> out.find("\"event\":\"listening\""), Optional::isPresent).get();
        Matcher endpoint = Pattern.compile("\"endpoints\":\\[\"(tcp://127\\.0\\.0\\.1:\\d+)\"").matcher(listening);
        assertTrue(endpoint.find(), listening);
        return endpoint.group(1);
    }

    /** Waits for the line of {@code event} for {@code identity} at or after line {@code from}; returns its index. */
    private static int awaitLine(Lines out, int from, String event, String identity, Lines err) {
        String fragment = "{\"event\":\"" + event + "\",\"identity\":\"" + identity + "\"";
        return await(event + " line for " + identity + "; stdout:\n" + out + "\nstderr:\n" + err).atMost(Duration.ofSeconds(40))
                .until(() -> out.indexOf(from, fragment), i -> i >= 0);
    }

    /** The sequence numbers of the messages {@code identity} received, in the order printed, from line {@code from} on. */
    private static List<Long> seqs(Lines out, int from, String identity) {
        Pattern seq = Pattern.compile("^\\{\"event\":\"message\",\"identity\":\"" + Pattern.quote(identity) + "\",.*\"seq\":(\\d+),");
        List<String> lines = out.lines;
        return lines.subList(Math.min(from, lines.size()), lines.size()).stream()
                .map(seq::matcher).filter(Matcher::find).map(m -> Long.parseLong(m.group(1))).collect(Collectors.toList());
    }

    /** Collects a child's output lines as they come, from a thread of its own. */
    private static final class Lines {
        private final List<String> lines = new CopyOnWriteArrayList<>();

        static Lines of(InputStream in) {
            Lines lines = new Lines();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.lines.add(line);
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            }, "child-output");
            reader.setDaemon(true);
            reader.start();
            return lines;
        }

        Optional<String> find(String fragment) {
            return lines.stream().filter(l -> l.contains(fragment)).findFirst();
        }

        int size() {
            return lines.size();
        }

        /** The index of the first line at or after {@code from} that contains {@code fragment}; -1 if none yet. */
        int indexOf(int from, String fragment) {
            for (int i = from; i < lines.size(); i++) {
                if (lines.get(i).contains(fragment)) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public String toString() {
            return String.join("\n", lines);
        }
    }
}
