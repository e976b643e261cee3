package io.github.zmqliveness.cli;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
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
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliTest {

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

    // ------------------------------------------------------------------ command line

    @Test
    void badCommandLinesExitWithUsage() {
        for (List<String> args : Arrays.asList(List.<String>of(), List.of("frobnicate"), List.of("router"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--heartbeat", "fast"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--liveness", "0"),
                List.of("router", "--bind", "tcp://127.0.0.1:5555", "--verbose"),
                List.of("router", "--bind"), List.of("demo", "--fast"))) {
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

    // ------------------------------------------------------------------ end to end

    @Test
    void routerCommandReportsJoinEchoAndEvictionAndStopsOnSigterm() throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Process router = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "router", "--bind", "tcp://127.0.0.1:*", "--heartbeat", "200ms", "--liveness", "3", "--echo").start();
        Lines out = Lines.of(router.getInputStream());
        Lines err = Lines.of(router.getErrorStream());
        try {
            String listening = await("listening line; stderr: " + err).atMost(Duration.ofSeconds(30))
                    .until(() -> out.find("\"event\":\"listening\""), Optional::isPresent).get();
            Matcher endpoint = Pattern.compile("\"endpoints\":\\[\"(tcp://127\\.0\\.0\\.1:\\d+)\"").matcher(listening);
            assertTrue(endpoint.find(), listening);

            try (ZContext context = new ZContext()) {
                ZMQ.Socket dealer = context.createSocket(SocketType.DEALER);
                dealer.setIdentity("host-a".getBytes(StandardCharsets.UTF_8));
                dealer.setLinger(0);
                dealer.connect(endpoint.group(1));
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

        @Override
        public String toString() {
            return String.join("\n", lines);
        }
    }
}
