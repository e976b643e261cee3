package io.github.zmqliveness.bench;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.liveness.LivenessRules;
import io.github.zmqliveness.liveness.PeerRecord;
import io.github.zmqliveness.liveness.PeerTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Heartbeat handling in the pure {@link PeerTable}, without sockets: {@code peers} heartbeating
 * identities, each op one {@code onMessage} for a random known identity, and every
 * {@code tickEvery} ops an {@code onTick}, on a simulated clock.
 *
 * <p>The clock advances {@code interval / (2 x peers)} per message, so every peer is heard twice per
 * interval on average, as a fleet heartbeating with some jitter; identities come from a sequence of
 * random permutations, so no peer is silent for two intervals and none turns SUSPECT (the teardown
 * checks that). The deadline heap is therefore exercised as in a healthy steady state: each peer's
 * entry comes due about once per {@code interval x (liveness - 1)} and is pushed back.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class PeerTableBenchmark {
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final int LIVENESS = 3;
    /** Permutations laid end to end in the access sequence. */
    private static final int PERMUTATIONS = 64;

    @State(Scope.Thread)
    public static class Fleet {
        @Param({"10000"})
        public int peers;

        @Param({"16"})
        public int tickEvery;

        PeerTable table;
        Identity[] ids;
        String[] addresses;
        int[] sequence;
        int position;
        int sinceTick;
        long now;
        long step;
        long suspects;
        long evictions;

        final PeerTable.TickSink sink = new PeerTable.TickSink() {
            @Override
            public void suspect(PeerRecord peer) {
                suspects++;
            }

            @Override
            public void evicted(PeerRecord peer, EvictReason reason) {
                evictions++;
            }

            @Override
            public void quarantineEnded(PeerRecord peer) {
            }
        };

        @Setup(Level.Trial)
        public void setUp() {
            LivenessRules rules = new LivenessRules(INTERVAL, LIVENESS, 3, Duration.ofSeconds(10), Duration.ofSeconds(30));
            table = new PeerTable(rules);
            ids = new Identity[peers];
            addresses = new String[peers];
            now = TimeUnit.HOURS.toNanos(1);
            for (int i = 0; i < peers; i++) {
                ids[i] = Identity.of(String.format("worker-%06d", i));
                addresses[i] = "127.0.0.1:" + (20000 + i % 40000);
                table.onMessage(ids[i], addresses[i], now);
                table.startHeartbeating(table.get(ids[i]), now);
            }
            step = INTERVAL.toNanos() / (2L * peers);
            SplittableRandom random = new SplittableRandom(42);
            sequence = new int[peers * PERMUTATIONS];
            int[] perm = new int[peers];
            for (int i = 0; i < peers; i++) {
                perm[i] = i;
            }
            for (int p = 0; p < PERMUTATIONS; p++) {
                for (int i = peers - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int t = perm[i];
                    perm[i] = perm[j];
                    perm[j] = t;
                }
                System.arraycopy(perm, 0, sequence, p * peers, peers);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            System.out.printf("%n[PeerTableBenchmark] simulated %.0f s; table %d peers; suspects %d, evictions %d (expected 0 and 0)%n",
                    (now - TimeUnit.HOURS.toNanos(1)) / 1e9, table.size(), suspects, evictions);
            if (table.size() != peers || suspects != 0 || evictions != 0) {
                throw new IllegalStateException("the simulated fleet was not steady: the figure is void");
            }
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public PeerTable.Arrival heartbeat(Fleet f) {
        int i = f.sequence[f.position];
        if (++f.position == f.sequence.length) {
            f.position = 0;
        }
        long now = f.now += f.step;
        PeerTable.Arrival a = f.table.onMessage(f.ids[i], f.addresses[i], now);
        if (++f.sinceTick == f.tickEvery) {
            f.sinceTick = 0;
            f.table.onTick(now, f.sink);
        }
        return a;
    }
}
