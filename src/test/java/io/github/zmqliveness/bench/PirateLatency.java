package io.github.zmqliveness.bench;

import io.github.zmqliveness.examples.LazyPirateClient;
import io.github.zmqliveness.examples.LivenessPirateQueue;
import io.github.zmqliveness.examples.LivenessPirateWorker;
import io.github.zmqliveness.examples.RawPirateQueue;
import io.github.zmqliveness.examples.RawPirateWorker;

import java.time.Duration;
import java.util.Arrays;

/**
 * Round trip through the migration recipe's two Paranoid Pirate queues (examples package): a REQ client, the queue,
 * one worker, all on 127.0.0.1, heartbeat 1 s x 3. Sequential requests; the first {@code warmup} are not counted.
 * Trials alternate raw and liveness. {@code bench/run.sh PirateLatency} ({@code PIRATE_OPTS="n=20000 trials=3"}).
 */
public final class PirateLatency {
    public static void main(String[] args) throws Exception {
        int n = 20_000;
        int warmup = 5_000;
        int trials = 3;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "n": n = Integer.parseInt(kv[1]); break;
                case "warmup": warmup = Integer.parseInt(kv[1]); break;
                case "trials": trials = Integer.parseInt(kv[1]); break;
                default: throw new IllegalArgumentException("unknown option " + a + " (n, warmup, trials)");
            }
        }
        System.out.println("queue     trial  requests   p50 us   p99 us  mean us");
        for (int t = 1; t <= trials; t++) {
            for (String kind : new String[] {"raw", "liveness"}) {
                long[] rtt = run(kind, n, warmup);
                Arrays.sort(rtt);
                double mean = Arrays.stream(rtt).average().orElse(0) / 1000.0;
                System.out.printf("%-9s %5d %9d %8.1f %8.1f %8.1f%n", kind, t, rtt.length, rtt[rtt.length / 2] / 1000.0,
                        rtt[(int) (rtt.length * 0.99)] / 1000.0, mean);
            }
        }
    }

    private static long[] run(String kind, int n, int warmup) throws Exception {
        AutoCloseable queue;
        AutoCloseable worker;
        String frontend;
        if (kind.equals("raw")) {
            RawPirateQueue q = new RawPirateQueue(1_000, 3);
            queue = q;
            frontend = q.frontendEndpoint();
            worker = new RawPirateWorker("w", q.backendEndpoint(), 1_000, 3);
            waitFor(q::freeWorkers);
        } else {
            LivenessPirateQueue q = new LivenessPirateQueue(Duration.ofSeconds(1), 3);
            queue = q;
            frontend = q.frontendEndpoint();
            worker = new LivenessPirateWorker("w", q.backendEndpoint(), Duration.ofSeconds(1), 3);
            waitFor(q::freeWorkers);
        }
        long[] rtt = new long[n];
        try (LazyPirateClient client = new LazyPirateClient(frontend, 5_000)) {
            for (int i = -warmup; i < n; i++) {
                long start = System.nanoTime();
                if (client.request("x", 1) == null) {
                    throw new IllegalStateException(kind + ": no reply within 5 s to request " + i);
                }
                if (i >= 0) {
                    rtt[i] = System.nanoTime() - start;
                }
            }
        } finally {
            worker.close();
            queue.close();
        }
        return rtt;
    }

    private static void waitFor(java.util.function.IntSupplier freeWorkers) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (freeWorkers.getAsInt() < 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the worker did not join within 10 s");
            }
            Thread.sleep(10);
        }
    }
}
