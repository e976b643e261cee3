package io.github.zmqliveness.bench;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.liveness.LivenessRules;
import io.github.zmqliveness.liveness.PeerRecord;
import io.github.zmqliveness.liveness.PeerTable;

import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.lang.management.MemoryMXBean;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * APPROXIMATE heap retained per peer by the {@link PeerTable}: used heap after full GCs, before and
 * after filling a table, divided by the number of peers. Not JMH: a plain main, run as
 * {@code java -Xmx2g -cp ... io.github.zmqliveness.bench.PeerTableMemory [peers...]}.
 *
 * <p>Reported separately: the identities and address strings (the keys, which the application
 * would hold in some form anyway), the table proper (records, map entries, deadline heap), and the
 * table after a simulated steady state of heartbeats and ticks (stale heap entries included).
 * Accuracy is a few bytes per peer at 100,000 peers; it depends on the JVM (compressed oops on).
 */
public final class PeerTableMemory {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private PeerTableMemory() {
    }

    public static void main(String[] args) throws Exception {
        int[] sizes = args.length == 0 ? new int[] {10_000, 100_000} : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        System.out.println("PeerTable memory per peer (APPROXIMATE: used heap after System.gc(), median of 3 runs)");
        System.out.printf("%-8s %14s %14s %16s %14s%n", "peers", "keys B/peer", "table B/peer", "steady B/peer", "heap entries");
        for (int n : sizes) {
            List<double[]> runs = new ArrayList<>();
            for (int run = 0; run < 3; run++) {
                runs.add(measure(n));
            }
            double[] med = new double[4];
            for (int k = 0; k < 4; k++) {
                double[] col = new double[runs.size()];
                for (int r = 0; r < runs.size(); r++) {
                    col[r] = runs.get(r)[k];
                }
                Arrays.sort(col);
                med[k] = col[col.length / 2];
            }
            System.out.printf("%-8d %14.0f %14.0f %16.0f %14.0f%n", n, med[0], med[1], med[2], med[3]);
        }
        System.out.println("keys = an Identity (13-byte id such as worker-000042) + its \"127.0.0.1:port\" address String; table = PeerRecord, "
                + "HashMap entry, deadline-heap entry; steady = table after 30 simulated intervals of heartbeats at 2 per interval");
    }

    /** {keys, table, steady} bytes per peer and heap entries at the end. */
    private static double[] measure(int n) throws Exception {
        long base = usedAfterGc();
        Identity[] ids = new Identity[n];
        String[] addresses = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = Identity.of(String.format("worker-%06d", i));
            addresses[i] = "127.0.0.1:" + (20000 + i % 40000);
        }
        long keys = usedAfterGc();

        LivenessRules rules = new LivenessRules(Duration.ofSeconds(1), 3, 3, Duration.ofSeconds(10), Duration.ofSeconds(30));
        PeerTable table = new PeerTable(rules);
        long now = TimeUnit.HOURS.toNanos(1);
        for (int i = 0; i < n; i++) {
            table.onMessage(ids[i], addresses[i], now);
            table.startHeartbeating(table.get(ids[i]), now);
        }
        long filled = usedAfterGc();

        // 30 intervals of heartbeats (each peer twice per interval, random order) with a tick every 16 messages
        long step = rules.intervalNanos() / (2L * n);
        SplittableRandom random = new SplittableRandom(7);
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        long[] lost = new long[1];
        PeerTable.TickSink sink = new PeerTable.TickSink() {
            @Override
            public void suspect(PeerRecord peer) {
                lost[0]++;
            }

            @Override
            public void evicted(PeerRecord peer, EvictReason reason) {
                lost[0]++;
            }

            @Override
            public void quarantineEnded(PeerRecord peer) {
            }
        };
        int tick = 0;
        for (int round = 0; round < 60; round++) {
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            for (int i = 0; i < n; i++) {
                now += step;
                table.onMessage(ids[perm[i]], addresses[perm[i]], now);
                if (++tick == 16) {
                    tick = 0;
                    table.onTick(now, sink);
                }
            }
        }
        perm = null;
        long steady = usedAfterGc();
        if (lost[0] != 0 || table.size() != n) {
            throw new IllegalStateException("the simulated fleet was not steady: " + lost[0] + " suspects/evictions");
        }
        Method pending = PeerTable.class.getDeclaredMethod("pendingEntries");
        pending.setAccessible(true);
        int entries = (Integer) pending.invoke(table);

        double[] out = {(keys - base) / (double) n, (filled - keys) / (double) n, (steady - keys) / (double) n, entries};
        Reference.reachabilityFence(ids); // reachable through every measurement
        Reference.reachabilityFence(addresses);
        Reference.reachabilityFence(table);
        return out;
    }

    private static long usedAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, MEMORY.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
