package io.github.zmqliveness.bench;

import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.RouterStats;
import io.github.zmqliveness.support.ClientSwarmProcess;
import io.github.zmqliveness.support.Swarm;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.stream.Collectors;

/**
 * A reconnect storm of {@link io.github.zmqliveness.DealerClient}s, with and without
 * {@code maxJoinsPerSecond}: the time until every client has rejoined a restarted router. Not
 * JMH: a plain main, bounded (every wait has a time limit and reports the count reached when it
 * expires). Plain DEALERs are measured by {@link ScaleBenchmark}; they are never paced.
 *
 * <p>N real DealerClients (default 2,000; heartbeat 1 s x 3, handshake 2 s, backoff 100 ms to 10 s,
 * x2, full jitter: the builder's defaults, backoff set explicitly) run in {@code swarms}
 * {@link ClientSwarmProcess} JVMs (default 4: each client has its own JeroMQ context, about 25 fds
 * and 3 threads, so 500 per JVM is ~12,600 fds of the 20,000 allowed) at {@code nice 19}
 * ({@code clientNice}), so the 6,000 client threads sharing the machine do not starve the router
 * being measured (at nice 0 it got about 40 % of a core during a storm). They first join 500 at a time.
 * Then, for each trial and each setting (no pacing; pacing at {@code rate} joins/s):
 *
 * <ol>
 *   <li>A router with that setting is bound on a fixed port (chosen free once); the clients, still
 *       reconnecting from the previous router, join it (unmeasured, bounded by {@code stormSeconds}:
 *       the "setup" line), and the run waits until every client says READY.</li>
 *   <li>The storm: the swarms start watching their clients' sessions, the router is closed (it
 *       sends DISCONNECT(SHUTTING_DOWN, retry after 1 s) to every client) and a new one with the
 *       same settings bound on the same port at once. Measured from the new bind: the time of the
 *       first join, of half and of all N ({@code peerCount() == N}), bounded by {@code stormSeconds};
 *       joins in each second (the router's {@code joins} counter, the last second partial) and their
 *       peak and median from the first second with a join; the new router's {@code joinsDeferred},
 *       {@code connectionsAccepted} and {@code connectionsClosed}, and the accepted connections that
 *       neither said HELLO nor were deferred (their client gave up before the handshake ended).
 *       From the clients: how long after the close began the first and the last of them noticed
 *       (left READY or changed session; watched every 10 ms), how many connection attempts they
 *       made ({@code reconnects}) and how many sessions they started.</li>
 * </ol>
 *
 * <p>One line per storm, then per setting the median, min and max of the rejoin time (a storm that
 * did not finish counts as its bound and is flagged). Arguments (optional, key=value):
 * {@code n=2000 swarms=4 rate=200 trials=3 stormSeconds=90 batch=500 backoffMs=100 backoffMaxMs=10000
 * handshakeMs=0 (the builder's default) clientNice=19}. About 13 minutes at the defaults on 2 cores (results in
 * {@code bench/results/2026-11-29/}, BENCHMARKS.md).
 */
public final class StormBenchmark {
    private static final long SAMPLE_MS = 5;

    private int n = 2_000;
    private int swarmCount = 4;
    private double rate = 200;
    private int trials = 3;
    private int stormSeconds = 90;
    private int batch = 500;
    private long backoffMs = 100;
    private long backoffMaxMs = 10_000;
    private long handshakeMs;
    private int clientNice = 19;

    private String endpoint;
    private final List<Swarm> swarms = new ArrayList<>();
    private final Map<String, List<Result>> results = new LinkedHashMap<>();

    private StormBenchmark() {
    }

    /** What one storm did. {@code rejoinMs} is -1 if not every client was back within the bound. */
    private static final class Result {
        double closeMs;
        double firstMs = -1;
        double halfMs = -1;
        double rejoinMs = -1;
        int peers;
        List<Long> joinsPerSecond = new ArrayList<>();
        RouterStats stats;
        Map<String, Long> clientsBefore;
        Map<String, Long> clientsAfter;
        long closeStartWallMs;
    }

    public static void main(String[] args) throws Exception {
        StormBenchmark b = new StormBenchmark();
        b.parse(args);
        try {
            b.run();
        } finally {
            b.stopSwarms();
        }
        say("done");
        System.exit(0);
    }

    private void parse(String[] args) {
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "n": n = Integer.parseInt(kv[1]); break;
                case "swarms": swarmCount = Integer.parseInt(kv[1]); break;
                case "rate": rate = Double.parseDouble(kv[1]); break;
                case "trials": trials = Integer.parseInt(kv[1]); break;
                case "stormSeconds": stormSeconds = Integer.parseInt(kv[1]); break;
                case "batch": batch = Integer.parseInt(kv[1]); break;
                case "backoffMs": backoffMs = Long.parseLong(kv[1]); break;
                case "backoffMaxMs": backoffMaxMs = Long.parseLong(kv[1]); break;
                case "handshakeMs": handshakeMs = Long.parseLong(kv[1]); break;
                case "clientNice": clientNice = Integer.parseInt(kv[1]); break;
                default: throw new IllegalArgumentException("unknown argument " + a);
            }
        }
    }

    private void run() throws Exception {
        endpoint = "tcp://127.0.0.1:" + freePort();
        say("storm: n=%d swarms=%d rate=%.0f/s trials=%d stormSeconds=%d, client backoff %d ms to %d ms x2 (full jitter), "
                + "handshake %s, swarms at nice %d, %s, nproc=%d", n, swarmCount, rate, trials, stormSeconds, backoffMs, backoffMaxMs,
                handshakeMs == 0 ? "default" : handshakeMs + " ms", clientNice, endpoint, Runtime.getRuntime().availableProcessors());
        startSwarms();
        Map<String, Long> idle = clientStats();
        say("swarms started: %d processes, fds %d, threads %d (before any client)", swarmCount, idle.get("fds"), idle.get("threads"));
        LivenessRouter router = newRouter(0);
        try {
            double joinMs = batchJoin(router);
            Map<String, Long> joined = clientStats();
            say("join: %d peers in %.0f ms, %d at a time; swarms: fds %d, threads %d (%.1f fds and %.2f threads per client)",
                    router.peerCount(), joinMs, batch, joined.get("fds"), joined.get("threads"),
                    (joined.get("fds") - idle.get("fds")) / (double) n, (joined.get("threads") - idle.get("threads")) / (double) n);
            router.close();
            for (int trial = 1; trial <= trials; trial++) {
                for (double r : new double[] {0, rate}) {
                    router = newRouter(r);
                    setUp(router, trial, r);
                    router = storm(router, trial, r);
                    router.close();
                }
            }
            router = null;
            summarize();
        } finally {
            if (router != null) {
                router.close();
            }
        }
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void startSwarms() throws Exception {
        int per = (n + swarmCount - 1) / swarmCount;
        for (int i = 0; i < swarmCount; i++) {
            int k = Math.min(per, n - i * per);
            swarms.add(Swarm.startClients(endpoint, "c" + i, k, 0, Duration.ofMillis(backoffMs), Duration.ofMillis(backoffMaxMs),
                    Duration.ofMillis(handshakeMs), clientNice));
        }
    }

    private void stopSwarms() throws InterruptedException {
        for (Swarm s : swarms) {
            s.close();
        }
    }

    private LivenessRouter newRouter(double joinsPerSecond) {
        LivenessRouter.Builder b = LivenessRouter.builder()
                .bind(endpoint)
                .heartbeatInterval(Duration.ofSeconds(1))
                .liveness(3)
                .maxConnections(20_000)
                .handler(m -> { }); // clients send only heartbeats; nothing to queue
        if (joinsPerSecond > 0) {
            b.maxJoinsPerSecond(joinsPerSecond);
        }
        return b.build();
    }

    private static String setting(double joinsPerSecond) {
        return joinsPerSecond > 0 ? String.format("paced %.0f/s", joinsPerSecond) : "no pacing";
    }

    /** Every swarm starts its share of {@code batch} clients per step; each step waits (30 s at most) until the router has them. */
    private double batchJoin(LivenessRouter router) throws Exception {
        long t0 = System.nanoTime();
        int per = (n + swarmCount - 1) / swarmCount;
        int[] started = new int[swarmCount];
        int target = 0;
        ExecutorService pool = Executors.newFixedThreadPool(swarmCount);
        try {
            while (target < n) {
                List<Future<?>> joins = new ArrayList<>();
                for (int i = 0; i < swarmCount; i++) {
                    Swarm s = swarms.get(i);
                    int share = Math.min(Math.max(1, batch / swarmCount), Math.min(per, n - i * per) - started[i]);
                    if (share <= 0) {
                        continue;
                    }
                    started[i] += share;
                    target += share;
                    joins.add(pool.submit(() -> {
                        s.join(share);
                        return null;
                    }));
                }
                for (Future<?> f : joins) {
                    f.get(60, TimeUnit.SECONDS);
                }
                awaitCount(router::peerCount, target, System.nanoTime(), 30, 20, "join step");
            }
        } finally {
            pool.shutdownNow();
        }
        return ms(t0);
    }

    /** The new router's first join: the clients come from the previous router; then every client must say READY. */
    private void setUp(LivenessRouter router, int trial, double joinsPerSecond) throws Exception {
        long t0 = System.nanoTime();
        double ms = awaitCount(router::peerCount, n, t0, stormSeconds, 20, "setup");
        awaitCount(this::clientsReady, n, System.nanoTime(), 15, 250, "clients READY");
        RouterStats stats = router.stats();
        Map<String, Long> clients = clientStats();
        say("setup  trial %d, %-11s: %s; joinsDeferred %d, connectionsAccepted %d, takeovers %d, conflicts %d; clients stopped %d, "
                        + "closed %d", trial, setting(joinsPerSecond),
                ms >= 0 ? String.format("%d joined in %.0f ms", n, ms) : String.format("only %d of %d joined", router.peerCount(), n),
                stats.get("joinsDeferred"), stats.get("connectionsAccepted"), stats.get("takeovers"), stats.get("conflicts"),
                clients.getOrDefault("stopped", 0L), clients.getOrDefault("closed", 0L));
    }

    /** Closes {@code router}, binds a new one with the same setting on the same port and measures the rejoin; returns the new router. */
    private LivenessRouter storm(LivenessRouter router, int trial, double joinsPerSecond) throws Exception {
        Result r = new Result();
        for (Swarm s : swarms) {
            s.mark();
        }
        r.clientsBefore = clientStats();
        r.closeStartWallMs = System.currentTimeMillis();
        long c0 = System.nanoTime();
        router.close();
        r.closeMs = ms(c0);
        long bind = System.nanoTime();
        LivenessRouter fresh = newRouter(joinsPerSecond);
        watch(fresh, bind, r);
        r.peers = fresh.peerCount();
        r.stats = fresh.stats();
        r.clientsAfter = clientStats();
        results.computeIfAbsent(setting(joinsPerSecond), k -> new ArrayList<>()).add(r);
        say("storm  trial %d, %-11s: %s", trial, setting(joinsPerSecond), describe(r));
        return fresh;
    }

    /** Polls the new router every 5 ms until all N are in or the bound expires; samples its joins at each second. */
    private void watch(LivenessRouter router, long bind, Result r) throws InterruptedException {
        long deadline = bind + TimeUnit.SECONDS.toNanos(stormSeconds);
        long nextSecond = bind + TimeUnit.SECONDS.toNanos(1);
        long joinsAtLastSecond = 0;
        while (true) {
            long now = System.nanoTime();
            int c = router.peerCount();
            if (c > 0 && r.firstMs < 0) {
                r.firstMs = (now - bind) / 1e6;
            }
            if (c >= (n + 1) / 2 && r.halfMs < 0) {
                r.halfMs = (now - bind) / 1e6;
            }
            boolean done = c >= n;
            if (now >= nextSecond || done || now >= deadline) {
                long joins = router.stats().joins();
                r.joinsPerSecond.add(joins - joinsAtLastSecond);
                joinsAtLastSecond = joins;
                nextSecond += TimeUnit.SECONDS.toNanos(1);
            }
            if (done) {
                r.rejoinMs = (now - bind) / 1e6;
                return;
            }
            if (now >= deadline) {
                say("  TIMEOUT: %d of %d after %d s (connections %d)", c, n, stormSeconds, router.connectionCount());
                return;
            }
            Thread.sleep(SAMPLE_MS);
        }
    }

    private String describe(Result r) {
        Map<String, Long> a = r.clientsAfter;
        Map<String, Long> b = r.clientsBefore;
        String rejoin = r.rejoinMs >= 0 ? String.format("all %d rejoined in %.0f ms", n, r.rejoinMs)
                : String.format("INCOMPLETE: %d of %d after %d s", r.peers, n, stormSeconds);
        return String.format("%s after the bind (first %.0f ms, half %.0f ms); close %.0f ms; clients noticed %s; "
                        + "joins/s peak %d median %d %s; joinsDeferred %d, connectionsAccepted %d, connectionsClosed %d, "
                        + "lost before HELLO %d; client connects %d, sessions %d, ready %d; attempts ended: connectFailed %d, "
                        + "connectionLost %d, noWelcome %d, serverSilent %d, toldToLeave %d; clients now connecting %d, backoff %d, "
                        + "stopped %d, closed %d; router takeovers %d, conflicts %d",
                rejoin, r.firstMs, r.halfMs, r.closeMs, noticed(r), peak(r.joinsPerSecond), median(active(r.joinsPerSecond)),
                r.joinsPerSecond, r.stats.get("joinsDeferred"), r.stats.get("connectionsAccepted"), r.stats.get("connectionsClosed"),
                lostBeforeHello(r),
                delta(a, b, "reconnects"), delta(a, b, "sessions"), a.get("ready"),
                delta(a, b, "connectFailed"), delta(a, b, "connectionLost"), delta(a, b, "noWelcome"), delta(a, b, "serverSilent"),
                delta(a, b, "toldToLeave"), a.getOrDefault("connecting", 0L), a.getOrDefault("backoff", 0L),
                a.getOrDefault("stopped", 0L), a.getOrDefault("closed", 0L), r.stats.get("takeovers"), r.stats.get("conflicts"));
    }

    private static long delta(Map<String, Long> after, Map<String, Long> before, String key) {
        return after.getOrDefault(key, 0L) - before.getOrDefault(key, 0L);
    }

    /** Connections accepted that neither said HELLO nor were deferred: given up by their client before the handshake ended. */
    private static long lostBeforeHello(Result r) {
        return r.stats.get("connectionsAccepted") - r.stats.get("hellosReceived") - r.stats.get("joinsDeferred");
    }

    /** When the first and the last client left its session, after the close began. */
    private String noticed(Result r) {
        Map<String, Long> a = r.clientsAfter;
        if (a.get("noticed") == 0) {
            return "none";
        }
        return String.format("%d, %d to %d ms after the close began", a.get("noticed"),
                a.get("noticedFirstMs") - r.closeStartWallMs, a.get("noticedLastMs") - r.closeStartWallMs);
    }

    /** The per-second counts from the first second with a join on (the storm's active part). */
    private static List<Long> active(List<Long> perSecond) {
        int first = 0;
        while (first < perSecond.size() - 1 && perSecond.get(first) == 0) {
            first++;
        }
        return perSecond.subList(first, perSecond.size());
    }

    private static long peak(List<Long> values) {
        return values.stream().mapToLong(Long::longValue).max().orElse(0);
    }

    private static long median(List<Long> values) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private void summarize() {
        say("summary (n=%d, %d trials; rejoin = time from the new bind until peerCount() == n; median [min, max]):", n, trials);
        for (Map.Entry<String, List<Result>> e : results.entrySet()) {
            List<Result> rs = e.getValue();
            long incomplete = rs.stream().filter(r -> r.rejoinMs < 0).count();
            List<Double> rejoin = rs.stream().map(r -> r.rejoinMs >= 0 ? r.rejoinMs : stormSeconds * 1000.0).collect(Collectors.toList());
            say("  %-11s: rejoin %s ms%s; first join %s ms; joins/s peak %s, median %s; joinsDeferred %s; connectionsAccepted %s; "
                            + "connectionsClosed %s; lost before HELLO %s; client connects %s; last client noticed %s ms after the close began",
                    e.getKey(), spread(rejoin), incomplete > 0 ? String.format(" (%d incomplete, counted as %d s)", incomplete, stormSeconds) : "",
                    spread(rs, r -> r.firstMs), spread(rs, r -> (double) peak(r.joinsPerSecond)),
                    spread(rs, r -> (double) median(active(r.joinsPerSecond))), spread(rs, r -> (double) r.stats.get("joinsDeferred")),
                    spread(rs, r -> (double) r.stats.get("connectionsAccepted")), spread(rs, r -> (double) r.stats.get("connectionsClosed")),
                    spread(rs, r -> (double) lostBeforeHello(r)),
                    spread(rs, r -> (double) (r.clientsAfter.get("reconnects") - r.clientsBefore.get("reconnects"))),
                    spread(rs, r -> (double) (r.clientsAfter.get("noticedLastMs") - r.closeStartWallMs)));
        }
    }

    private static String spread(List<Result> rs, java.util.function.ToDoubleFunction<Result> f) {
        return spread(rs.stream().map(f::applyAsDouble).collect(Collectors.toList()));
    }

    /** "median [min, max]" of the values. */
    private static String spread(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return String.format("%.0f [%.0f, %.0f]", sorted.get(sorted.size() / 2), sorted.get(0), sorted.get(sorted.size() - 1));
    }

    /** The swarms' {@code stats} added up, except fds and threads (summed too: whole processes). */
    private Map<String, Long> clientStats() throws java.io.IOException {
        Map<String, Long> sum = new LinkedHashMap<>();
        for (Swarm s : swarms) {
            Map<String, Long> m = s.stats();
            m.forEach((k, v) -> sum.merge(k, v, k.startsWith("noticedFirst") ? StormBenchmark::minNonZero : k.startsWith("noticedLast")
                    ? Math::max : Long::sum));
        }
        return sum;
    }

    private static long minNonZero(long a, long b) {
        return a == 0 ? b : b == 0 ? a : Math.min(a, b);
    }

    private int clientsReady() {
        try {
            return clientStats().get("ready").intValue();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Waits until {@code count} (read every {@code pollMs}) reaches {@code target}, at most {@code limitSeconds};
     * milliseconds since {@code start}, or -1 after saying the count reached.
     */
    private static double awaitCount(IntSupplier count, int target, long start, int limitSeconds, long pollMs, String what)
            throws InterruptedException {
        long deadline = start + TimeUnit.SECONDS.toNanos(limitSeconds);
        while (System.nanoTime() < deadline) {
            if (count.getAsInt() >= target) {
                return ms(start);
            }
            Thread.sleep(pollMs);
        }
        say("  TIMEOUT (%s): %d of %d after %d s", what, count.getAsInt(), target, limitSeconds);
        return -1;
    }

    private static double ms(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(format, args));
        System.out.flush();
    }
}
