package io.github.zmqliveness.bench;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerListener;
import io.github.zmqliveness.cli.TcpProxy;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMonitor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * How long a server takes to notice a peer whose link froze (both TCP connections open, no byte
 * moving), measured from {@link TcpProxy#freeze()}. Not JMH: a plain main.
 *
 * <p>Per setting (heartbeat interval x liveness 3) and per server:
 * <ul>
 *   <li>{@code LivenessRouter}: a plain JeroMQ DEALER joins through its own proxy; detected = the
 *       listener receives EVICTED for its identity. The documented bound is interval x liveness + interval.</li>
 *   <li>{@code raw ROUTER t=ivl/2}: a bare JeroMQ ROUTER with the router's ZMTP settings (heartbeat
 *       ivl = interval, timeout = interval / 2, same TTL); detected = its event hook reports
 *       DISCONNECTED (each trial has its own ROUTER socket, so the event is that trial's connection).</li>
 *   <li>{@code raw ROUTER t=ivl}: the same with timeout = interval, the setting LivenessRouter refuses
 *       because JeroMQ 0.6.0 re-arms its heartbeat timer wrongly with it.</li>
 * </ul>
 * A trial not detected within 10 x the bound counts as never detected. Trials run {@code parallel} at
 * a time, each through its own proxy, and wait a random fraction of an interval between joining and
 * freezing so their heartbeat phases are independent.
 *
 * <p>Arguments (all optional, key=value): {@code trials=100 trialsLong=100 parallel=10 parallelLong=20
 * settings=200,1000 servers=lib,raw,bug csv=target/detection-samples.csv}. {@code trialsLong} and
 * {@code parallelLong} apply to intervals of 1 s and more.
 */
public final class DetectionBenchmark {
    private static final int LIVENESS = 3;

    private DetectionBenchmark() {
    }

    /** One trial's result: nanoseconds from freeze to detection, or a reason it has none. */
    static final class Outcome {
        final long nanos;
        final String problem;
        final String reason;

        private Outcome(long nanos, String problem, String reason) {
            this.nanos = nanos;
            this.problem = problem;
            this.reason = reason;
        }

        static Outcome detected(long nanos, String reason) {
            return new Outcome(nanos, null, reason);
        }

        static Outcome undetected() {
            return new Outcome(-1, "undetected", null);
        }

        static Outcome failed(String why) {
            return new Outcome(-1, why, null);
        }

        boolean isDetected() {
            return problem == null;
        }
    }

    interface TrialBody {
        Outcome run(int index) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("arguments are key=value, got " + a);
            }
            opt.put(a.substring(0, eq), a.substring(eq + 1));
        }
        int trials = Integer.parseInt(opt.getOrDefault("trials", "100"));
        int trialsLong = Integer.parseInt(opt.getOrDefault("trialsLong", "100"));
        int parallel = Integer.parseInt(opt.getOrDefault("parallel", "10"));
        int parallelLong = Integer.parseInt(opt.getOrDefault("parallelLong", "20"));
        List<String> servers = List.of(opt.getOrDefault("servers", "lib,raw,bug").split(","));
        Path csv = Paths.get(opt.getOrDefault("csv", "target/detection-samples.csv"));

        List<String> rows = new ArrayList<>();
        List<String> samples = new ArrayList<>();
        samples.add("interval_ms,server,trial,detected_ms,outcome");
        long started = System.nanoTime();
        for (String s : opt.getOrDefault("settings", "200,1000").split(",")) {
            long ivl = Long.parseLong(s.trim());
            boolean longSetting = ivl >= 1000;
            int n = longSetting ? trialsLong : trials;
            int p = longSetting ? parallelLong : parallel;
            long boundMs = ivl * LIVENESS + ivl;
            for (String server : servers) {
                long t0 = System.nanoTime();
                List<Outcome> out;
                String name;
                switch (server.trim()) {
                    case "lib":
                        name = "LivenessRouter";
                        out = runLibrary(ivl, boundMs, n, p);
                        break;
                    case "raw":
                        name = "raw ROUTER t=ivl/2";
                        out = runRaw(ivl, ivl / 2, boundMs, n, p);
                        break;
                    case "bug":
                        name = "raw ROUTER t=ivl";
                        out = runRaw(ivl, ivl, boundMs, n, p);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown server " + server + " (lib, raw, bug)");
                }
                String row = summarize(ivl, name, boundMs, out, p, System.nanoTime() - t0);
                rows.add(row);
                System.out.println(row);
                for (int i = 0; i < out.size(); i++) {
                    Outcome o = out.get(i);
                    samples.add(ivl + "," + name + "," + i + "," + (o.isDetected() ? String.format("%.1f", o.nanos / 1e6) : "")
                            + "," + (o.isDetected() ? "detected" + (o.reason != null ? " " + o.reason : "") : o.problem));
                }
            }
        }
        System.out.println();
        System.out.println("Detection of a frozen peer, ms from freeze (liveness " + LIVENESS + "; bound = interval x liveness + interval; "
                + "never = not detected within 10 x bound)");
        System.out.println(header());
        rows.forEach(System.out::println);
        System.out.printf("total %.0f s%n", (System.nanoTime() - started) / 1e9);
        if (csv.getParent() != null) {
            Files.createDirectories(csv.getParent());
        }
        Files.write(csv, samples, StandardCharsets.UTF_8);
        System.out.println("samples: " + csv);
    }

    static String header() {
        return "| interval | server | trials | detected | never | failed | min | median | p99 | max | bound | over bound | parallel | wall s |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
    }

    static String summarize(long ivl, String name, long boundMs, List<Outcome> out, int parallel, long wallNanos) {
        List<Long> ms = new ArrayList<>();
        int never = 0;
        int failed = 0;
        for (Outcome o : out) {
            if (o.isDetected()) {
                ms.add(TimeUnit.NANOSECONDS.toMillis(o.nanos));
            } else if ("undetected".equals(o.problem)) {
                never++;
            } else {
                failed++;
            }
        }
        Collections.sort(ms);
        long over = ms.stream().filter(v -> v > boundMs).count();
        String stats = ms.isEmpty() ? "- | - | - | -"
                : ms.get(0) + " | " + percentile(ms, 50) + " | " + percentile(ms, 99) + " | " + ms.get(ms.size() - 1);
        return "| " + ivl + " ms x " + LIVENESS + " | " + name + " | " + out.size() + " | " + ms.size() + " | " + never + " | " + failed
                + " | " + stats + " | " + boundMs + " | " + over + " | " + parallel + " | " + String.format("%.0f", wallNanos / 1e9) + " |";
    }

    /** Nearest-rank percentile of a sorted list. */
    static long percentile(List<Long> sorted, int pct) {
        int rank = (int) Math.ceil(pct / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    static List<Outcome> runTrials(int trials, int parallel, TrialBody body) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(parallel, r -> {
            Thread t = new Thread(r, "detection-trial");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < trials; i++) {
                int index = i;
                futures.add(pool.submit(() -> body.run(index)));
            }
            List<Outcome> out = new ArrayList<>();
            for (Future<Outcome> f : futures) {
                try {
                    out.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    out.add(Outcome.failed("error: " + e.getCause()));
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static ZMQ.Socket dealer(ZContext ctx, String identity, String endpoint) {
        ZMQ.Socket s;
        synchronized (ctx) {
            s = ctx.createSocket(SocketType.DEALER);
        }
        s.setIdentity(identity.getBytes(StandardCharsets.UTF_8));
        s.setLinger(0);
        s.setReconnectIVL(50);
        s.setHandshakeIvl(1000); // a fresh connection's handshake sometimes stalls (JeroMQ 0.6.0): redo it after 1 s, not 30 s
        s.setSendTimeOut(1000);
        s.connect(endpoint);
        return s;
    }

    static void destroy(ZContext ctx, ZMQ.Socket s) {
        synchronized (ctx) {
            ctx.destroySocket(s);
        }
    }

    /** A random pause of less than one interval, so parallel trials freeze at independent heartbeat phases. */
    static void decorrelate(long ivlMs) throws InterruptedException {
        Thread.sleep(ThreadLocalRandom.current().nextLong(ivlMs));
    }

    // ------------------------------------------------------------------ LivenessRouter

    static final class Watch {
        final CountDownLatch joined = new CountDownLatch(1);
        final CountDownLatch evicted = new CountDownLatch(1);
        volatile long evictedAt;
        volatile EvictReason reason;
    }

    static List<Outcome> runLibrary(long ivlMs, long boundMs, int trials, int parallel) throws Exception {
        Map<Identity, Watch> watches = new ConcurrentHashMap<>();
        PeerListener listener = (PeerEvent e) -> {
            long now = System.nanoTime();
            Watch w = watches.get(e.identity());
            if (w == null) {
                return;
            }
            if (e.type() == PeerEvent.Type.JOINED) {
                w.joined.countDown();
            } else if (e.type() == PeerEvent.Type.EVICTED && w.evicted.getCount() > 0) {
                w.evictedAt = now;
                w.reason = e.reason();
                w.evicted.countDown();
            }
        };
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*")
                .heartbeatInterval(Duration.ofMillis(ivlMs)).liveness(LIVENESS)
                .listener(listener).handler(m -> { }).build();
             ZContext ctx = new ZContext(1)) {
            String endpoint = router.endpoints().get(0);
            return runTrials(trials, parallel, i -> {
                Identity id = Identity.of("det-" + ivlMs + "-" + i);
                Watch w = new Watch();
                watches.put(id, w);
                try (TcpProxy proxy = TcpProxy.to(endpoint)) {
                    ZMQ.Socket d = dealer(ctx, id.toString(), proxy.endpoint());
                    try {
                        d.send("hello");
                        if (!w.joined.await(10, TimeUnit.SECONDS)) {
                            return Outcome.failed("did not join");
                        }
                        decorrelate(ivlMs);
                        proxy.freeze();
                        long frozenAt = System.nanoTime();
                        if (!w.evicted.await(10 * boundMs, TimeUnit.MILLISECONDS)) {
                            return Outcome.undetected();
                        }
                        if (w.evictedAt < frozenAt) {
                            return Outcome.failed("evicted before the freeze (" + w.reason + ")");
                        }
                        return Outcome.detected(w.evictedAt - frozenAt, String.valueOf(w.reason));
                    } finally {
                        destroy(ctx, d);
                    }
                } finally {
                    watches.remove(id);
                }
            });
        }
    }

    // ------------------------------------------------------------------ raw JeroMQ ROUTER

    static List<Outcome> runRaw(long ivlMs, long timeoutMs, long boundMs, int trials, int parallel) throws Exception {
        try (ZContext routers = new ZContext(1); ZContext dealers = new ZContext(1)) {
            return runTrials(trials, parallel, i -> rawTrial(routers, dealers, ivlMs, timeoutMs, boundMs, i));
        }
    }

    private static Outcome rawTrial(ZContext routers, ZContext dealers, long ivlMs, long timeoutMs, long boundMs, int i)
            throws IOException, InterruptedException {
        ZMQ.Socket router;
        synchronized (routers) {
            router = routers.createSocket(SocketType.ROUTER);
        }
        CountDownLatch disconnected = new CountDownLatch(1);
        long[] at = new long[1];
        try {
            router.setRouterMandatory(true);
            router.setRouterHandover(true);
            router.setLinger(0);
            router.setHeartbeatIvl((int) ivlMs);
            router.setHeartbeatTimeout((int) timeoutMs);
            router.setHeartbeatTtl((int) Math.min(6_553_000L, ivlMs * (LIVENESS + 1L))); // as LivenessRouter sets it
            router.setReceiveTimeOut(10_000);
            router.setEventHook(e -> {
                if (e.getEvent() == ZMonitor.Event.DISCONNECTED && disconnected.getCount() > 0) {
                    at[0] = System.nanoTime();
                    disconnected.countDown();
                }
            }, ZMQ.EVENT_DISCONNECTED);
            router.bind("tcp://127.0.0.1:*");
            try (TcpProxy proxy = TcpProxy.to(router.getLastEndpoint())) {
                ZMQ.Socket d = dealer(dealers, "raw-" + ivlMs + "-" + i, proxy.endpoint());
                try {
                    d.send("hello");
                    byte[] identity = router.recv(0);
                    byte[] body = identity == null ? null : router.recv(0);
                    if (body == null) {
                        return Outcome.failed("did not join");
                    }
                    decorrelate(ivlMs);
                    proxy.freeze();
                    long frozenAt = System.nanoTime();
                    if (!disconnected.await(10 * boundMs, TimeUnit.MILLISECONDS)) {
                        return Outcome.undetected();
                    }
                    if (at[0] < frozenAt) {
                        return Outcome.failed("disconnected before the freeze");
                    }
                    return Outcome.detected(at[0] - frozenAt, "DISCONNECTED");
                } finally {
                    destroy(dealers, d);
                }
            }
        } finally {
            destroy(routers, router);
        }
    }
}
