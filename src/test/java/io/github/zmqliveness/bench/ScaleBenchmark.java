package io.github.zmqliveness.bench;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.PeerSnapshot;
import io.github.zmqliveness.support.Swarm;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * A {@link LivenessRouter} holding N real libzmq DEALERs (default 10,000; Debian's python3-zmq,
 * {@code src/test/resources/swarm.py}) spread over {@code swarms} processes (default 4, 2,500
 * dealers each: libzmq does their ZMTP work in C, so the clients leave the CPU to the router).
 * Not JMH: a plain main, one pass, bounded (every wait has a time limit and reports the count it
 * reached; about 8 minutes at the defaults on 2 cores). {@code clients=jeromq} uses JeroMQ
 * dealers instead ({@link io.github.zmqliveness.support.DealerSwarmProcess}, 1 s handshake,
 * far more CPU per dealer).
 *
 * <ol>
 *   <li>Join: every dealer connects and sends one message, {@code batch} (default 2,500) at a time
 *       spread over the swarms, each step waiting (at most 30 s) until the router has them all;
 *       time until {@code peerCount() == N}.</li>
 *   <li>Memory and fds per peer: heap used after {@code System.gc()} and {@code /proc/self/fd},
 *       with the router bound and no peer, then with N peers; the difference divided by N.</li>
 *   <li>Idle CPU: the dealers stop sending; for {@code idleSeconds} (20) the only traffic is ZMTP
 *       PING/PONG every 1 s; CPU of this whole process ({@code /proc/self/stat} utime + stime) as
 *       % of one core.</li>
 *   <li>Churn: the dealers tick every 1 s again; {@code router.evict()} on peers in a loop for
 *       {@code churnSeconds} (10); each evicted dealer reconnects (50 ms) and rejoins with its next
 *       tick. Evictions/s; then the time until all N are back, and fds and threads against the
 *       count before the churn.</li>
 *   <li>Reconnect storm: the router is closed and a new one bound on the same port; every dealer
 *       reconnects and rejoins with its next tick (at most 1 s later); time until
 *       {@code peerCount() == N}, bounded by {@code stormSeconds} (90). Plain DEALERs are never
 *       paced; the paced storm of DealerClients is {@link StormBenchmark}.</li>
 *   <li>Raw ROUTER: a bare JeroMQ ROUTER with the same ZMTP settings as the LivenessRouter's defaults (PING 1.5 s, timeout 750 ms, TTL 4 s,
 *       ROUTER_MANDATORY, ROUTER_HANDOVER), I/O threads and backlog ({@code rawBacklog=100} gives
 *       it JeroMQ's default) is bound on the port; the dealers close their sockets first and join it
 *       in the same steps; its idle CPU is measured the same way, then the same storm (counted by
 *       identities heard by the new ROUTER).</li>
 * </ol>
 *
 * <p>Arguments (optional, key=value): {@code n=10000 swarms=4 batch=2500 idleSeconds=20
 * churnSeconds=10 stormSeconds=90 raw=true ioThreads=4 backlog=1024 rawBacklog=(backlog)
 * clients=libzmq handshakeMs=(libzmq's 30 s)}.
 */
public final class ScaleBenchmark {
    private static final long TICK_MS = 1000;
    private static final long CLK_TCK = 100; // Linux USER_HZ
    /** The router's accept backlog; 0 = the builder's default. */
    private static int backlog;
    /** The router's JeroMQ I/O threads (the raw ROUTER gets as many). */
    private static int ioThreads = 4;
    /** The raw ROUTER's accept backlog; 0 = the same as the LivenessRouter's. */
    private static int rawBacklogArg;

    private ScaleBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int n = 10_000;
        int swarmCount = 4;
        int idleSeconds = 20;
        int churnSeconds = 10;
        boolean raw = true;
        int batch = 2_500;
        int stormSeconds = 90;
        String clients = "libzmq";
        long handshakeMs = 0;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "n": n = Integer.parseInt(kv[1]); break;
                case "swarms": swarmCount = Integer.parseInt(kv[1]); break;
                case "idleSeconds": idleSeconds = Integer.parseInt(kv[1]); break;
                case "churnSeconds": churnSeconds = Integer.parseInt(kv[1]); break;
                case "raw": raw = Boolean.parseBoolean(kv[1]); break;
                case "batch": batch = Integer.parseInt(kv[1]); break;
                case "stormSeconds": stormSeconds = Integer.parseInt(kv[1]); break;
                case "backlog": backlog = Integer.parseInt(kv[1]); break;
                case "ioThreads": ioThreads = Integer.parseInt(kv[1]); break;
                case "rawBacklog": rawBacklogArg = Integer.parseInt(kv[1]); break;
                case "clients": clients = kv[1]; break;
                case "handshakeMs": handshakeMs = Long.parseLong(kv[1]); break;
                default: throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        final int total = n;
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String endpoint = "tcp://127.0.0.1:" + port;
        say("scale: n=%d swarms=%d port=%d idle=%ds churn=%ds, nproc=%d, fd limit: %s", n, swarmCount, port, idleSeconds,
                churnSeconds, Runtime.getRuntime().availableProcessors(), fdLimit());

        LivenessRouter router = newRouter(endpoint);
        Thread.sleep(500);
        long heap0 = usedHeapAfterGc();
        int fd0 = fdCount();
        int threads0 = threadCount();
        say("before: heap %.1f MiB, fds %d, threads %d", heap0 / 1048576.0, fd0, threads0);

        List<Swarm> swarms = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(swarmCount);
        try {
            int per = (n + swarmCount - 1) / swarmCount;
            for (int i = 0; i < swarmCount; i++) {
                int k = Math.min(per, n - i * per);
                swarms.add("jeromq".equals(clients) ? Swarm.start(endpoint, "s" + i, k, 0, TICK_MS)
                        : Swarm.startLibzmq(endpoint, "s" + i, k, 0, TICK_MS, handshakeMs));
            }
            say("swarms started (%d processes, %d dealers each)", swarmCount, per);

            // 1. Join, in steps of `batch` dealers (all 10,000 at once livelock on 2 cores, see the class comment)
            final LivenessRouter lib = router;
            double joinMs = batchJoin(swarms, pool, n, per, batch, router::peerCount,
                    () -> "connections " + lib.connectionCount() + ", fds " + fdCount() + ", " + lib.stats());
            say("join: %d peers in %.0f ms, %d at a time = %.0f joins/s; connections %d",
                    router.peerCount(), joinMs, batch, router.peerCount() * 1000.0 / joinMs, router.connectionCount());

            // 3. Memory and fds per peer (quiet first so no message is in flight)
            for (Swarm s : swarms) {
                s.quiet();
            }
            Thread.sleep(2000);
            long heap1 = usedHeapAfterGc();
            int fd1 = fdCount();
            int threads1 = threadCount();
            int peers1 = router.peerCount();
            say("after join: heap %.1f MiB, fds %d, threads %d, peers %d", heap1 / 1048576.0, fd1, threads1, peers1);
            say("per peer: heap %.0f bytes, fds %.3f", (heap1 - heap0) / (double) peers1, (fd1 - fd0) / (double) peers1);

            // 2. Idle CPU
            double libCpu = idleCpu(idleSeconds);
            say("idle CPU, LivenessRouter, %d peers, %d s: %.2f %% of one core (peers still %d, evictions %d)",
                    router.peerCount(), idleSeconds, libCpu, router.peerCount(), router.stats().evictions());

            // 4. Churn
            for (Swarm s : swarms) {
                s.loud();
            }
            Thread.sleep(1500);
            int fdBefore = fdCount();
            int thBefore = threadCount();
            long ev0 = router.stats().evictions();
            long churnStart = System.nanoTime();
            long churnEnd = churnStart + TimeUnit.SECONDS.toNanos(churnSeconds);
            long evicted = 0;
            long refused = 0;
            outer:
            while (System.nanoTime() < churnEnd) {
                List<PeerSnapshot> snap = router.peers();
                if (snap.isEmpty()) {
                    Thread.sleep(10);
                }
                for (PeerSnapshot p : snap) {
                    if (System.nanoTime() >= churnEnd) {
                        break outer;
                    }
                    if (router.evict(p.identity())) {
                        evicted++;
                    } else {
                        refused++;
                    }
                }
            }
            double churnMs = ms(churnStart);
            int minPeers = router.peerCount();
            say("churn: %d evictions in %.0f ms = %.0f evictions/s (evict() false %d, stats evictions +%d, peers at end %d)",
                    evicted, churnMs, evicted * 1000.0 / churnMs, refused, router.stats().evictions() - ev0, minPeers);
            long back = System.nanoTime();
            double backMs = awaitCount(router::peerCount, total, back, 60);
            Thread.sleep(2000);
            int fdAfter = fdCount();
            int thAfter = threadCount();
            say("after churn: all %d back in %.0f ms; fds %d (before churn %d), threads %d (before %d), connections %d",
                    router.peerCount(), backMs, fdAfter, fdBefore, thAfter, thBefore, router.connectionCount());

            // 5. Reconnect storm, plain DEALERs
            long c0 = System.nanoTime();
            router.close();
            double closeMs = ms(c0);
            long r0 = System.nanoTime();
            router = newRouter(endpoint);
            double stormMs = awaitCount(router::peerCount, total, r0, stormSeconds);
            say("storm (plain DEALERs, tick 1 s, no pacing): close took %.0f ms; %d rejoined in %.0f ms after the new bind",
                    closeMs, router.peerCount(), stormMs);
            Thread.sleep(1000);
            say("after storm: fds %d, threads %d, connections %d, stats %s", fdCount(), threadCount(), router.connectionCount(), router.stats());

            // 6. Raw ROUTER idle CPU
            if (raw) {
                // every dealer closes its socket, then joins the raw ROUTER in the same steps
                for (Swarm s : swarms) {
                    s.leave(per);
                }
                router.close();
                router = null;
                Thread.sleep(1000);
                RawRouter rr = new RawRouter(endpoint);
                double rawJoin = batchJoin(swarms, pool, n, per, batch, rr.seen::size, () -> "fds " + fdCount());
                say("raw ROUTER: heard %d identities in %.0f ms, %d at a time", rr.seen.size(), rawJoin, batch);
                for (Swarm s : swarms) {
                    s.quiet();
                }
                Thread.sleep(2000);
                say("raw ROUTER: fds %d, threads %d, heap %.1f MiB", fdCount(), threadCount(), usedHeapAfterGc() / 1048576.0);
                double rawCpu = idleCpu(idleSeconds);
                say("idle CPU, raw ROUTER, %d peers, %d s: %.2f %% of one core", rr.seen.size(), idleSeconds, rawCpu);
                say("idle CPU ratio LivenessRouter / raw ROUTER: %.2f (peers %d / %d)", libCpu / rawCpu, peers1, rr.seen.size());

                // 7. Raw ROUTER storm: the same restart, counted by identities heard by the new ROUTER
                for (Swarm s : swarms) {
                    s.loud();
                }
                Thread.sleep(1500);
                long rc0 = System.nanoTime();
                rr.close();
                double rawCloseMs = ms(rc0);
                long rs0 = System.nanoTime();
                rr = new RawRouter(endpoint);
                final RawRouter rr2 = rr;
                double rawStormMs = awaitCount(() -> rr2.seen.size(), total, rs0, stormSeconds);
                say("storm, raw ROUTER (backlog %d): close took %.0f ms; %d heard again in %.0f ms after the new bind",
                        rawBacklog(), rawCloseMs, rr.seen.size(), rawStormMs);
                rr.close();
            }
        } finally {
            if (router != null) {
                router.close();
            }
            for (Swarm s : swarms) {
                s.close();
            }
            pool.shutdownNow();
        }
        say("done");
        System.exit(0);
    }

    private static LivenessRouter newRouter(String endpoint) {
        return LivenessRouter.builder()
                .bind(endpoint)
                .heartbeatInterval(Duration.ofSeconds(1))
                .liveness(3)
                .maxConnections(20_000)
                .acceptBacklog(backlog())
                .ioThreads(ioThreads)
                .handler(m -> { }) // the ticks are dropped on the loop thread; no receive queue to fill
                .build();
    }

    private static int backlog() {
        return backlog > 0 ? backlog : 1024;
    }

    private static int rawBacklog() {
        return rawBacklogArg > 0 ? rawBacklogArg : backlog();
    }

    /** A bare ROUTER with the LivenessRouter's ZMTP settings; a thread reads and records identities. */
    private static final class RawRouter implements AutoCloseable {
        final Set<String> seen = ConcurrentHashMap.newKeySet();
        private final ZContext ctx = new ZContext(ioThreads);
        private final Thread thread;
        private volatile boolean running = true;

        RawRouter(String endpoint) {
            ZMQ.Socket router = ctx.createSocket(SocketType.ROUTER);
            router.setRouterMandatory(true);
            router.setRouterHandover(true);
            router.setLinger(0);
            router.setHeartbeatIvl(EchoServer.HEARTBEAT_IVL_MS); // the LivenessRouter's defaults at 1 s x 3
            router.setHeartbeatTimeout(EchoServer.HEARTBEAT_TIMEOUT_MS);
            router.setHeartbeatTtl(4000);
            router.setReceiveTimeOut(100);
            router.setBacklog(rawBacklog());
            router.bind(endpoint);
            thread = new Thread(() -> {
                while (running) {
                    byte[] id = router.recv(0);
                    if (id == null) {
                        continue;
                    }
                    seen.add(new String(id, StandardCharsets.UTF_8));
                    while (router.hasReceiveMore()) {
                        router.recv(0);
                    }
                }
                router.close();
            }, "raw-router");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5000);
            ctx.close();
        }
    }

    /** Each step: every swarm opens its share of {@code batch} dealers, then waits until {@code count} has them all. */
    private static double batchJoin(List<Swarm> swarms, ExecutorService pool, int n, int per, int batch, IntSupplier count,
            java.util.function.Supplier<String> diag)
            throws Exception {
        long t0 = System.nanoTime();
        int[] joined = new int[swarms.size()];
        int target = 0;
        boolean incomplete = false;
        while (target < n) {
            List<Future<?>> joins = new ArrayList<>();
            for (int i = 0; i < swarms.size(); i++) {
                Swarm s = swarms.get(i);
                int share = Math.min(Math.max(1, batch / swarms.size()), Math.min(per, n - i * per) - joined[i]);
                if (share <= 0) {
                    continue;
                }
                joined[i] += share;
                target += share;
                joins.add(pool.submit(() -> {
                    s.join(share);
                    return null;
                }));
            }
            for (Future<?> f : joins) {
                f.get(60, TimeUnit.SECONDS);
            }
            if (awaitCount(count, target, System.nanoTime(), 30) < 0) {
                say("  step to %d incomplete: %d (%s)", target, count.getAsInt(), diag.get());
                incomplete = true;
            }
        }
        return incomplete ? -ms(t0) : ms(t0);
    }

    /** Waits until {@code count} reaches {@code target} (bounded); milliseconds since {@code start}, or -1. */
    private static double awaitCount(IntSupplier count, int target, long start, int limitSeconds) throws InterruptedException {
        long deadline = start + TimeUnit.SECONDS.toNanos(limitSeconds);
        int last = -1;
        long lastReport = System.nanoTime();
        while (System.nanoTime() < deadline) {
            int c = count.getAsInt();
            if (c >= target) {
                return ms(start);
            }
            if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(5) && c != last) {
                say("  ... %d of %d after %.0f ms", c, target, ms(start));
                lastReport = System.nanoTime();
                last = c;
            }
            Thread.sleep(5);
        }
        say("  TIMEOUT: %d of %d after %d s", count.getAsInt(), target, limitSeconds);
        return -1;
    }

    /** CPU of this process over {@code seconds}, as % of one core. */
    private static double idleCpu(int seconds) throws IOException, InterruptedException {
        long cpu0 = processCpuTicks();
        long t0 = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        long cpu1 = processCpuTicks();
        double wallS = (System.nanoTime() - t0) / 1e9;
        return 100.0 * (cpu1 - cpu0) / CLK_TCK / wallS;
    }

    private static long processCpuTicks() throws IOException {
        String stat = new String(Files.readAllBytes(Paths.get("/proc/self/stat")), StandardCharsets.US_ASCII);
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
    }

    private static int fdCount() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    private static String fdLimit() {
        try {
            for (String l : Files.readAllLines(Paths.get("/proc/self/limits"))) {
                if (l.startsWith("Max open files")) {
                    return l.replaceAll("\\s+", " ").trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "unknown";
    }

    private static int threadCount() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    private static double ms(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(format, args));
        System.out.flush();
    }
}
