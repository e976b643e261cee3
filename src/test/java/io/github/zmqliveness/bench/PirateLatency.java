package io.github.zmqliveness.bench;

import io.github.zmqliveness.examples.LazyPirateClient;
import io.github.zmqliveness.examples.LivenessMajordomoBroker;
import io.github.zmqliveness.examples.LivenessMajordomoWorker;
import io.github.zmqliveness.examples.MajordomoClient;
import io.github.zmqliveness.examples.RawMajordomoBroker;
import io.github.zmqliveness.examples.RawMajordomoWorker;
import io.github.zmqliveness.examples.LivenessPirateQueue;
import io.github.zmqliveness.examples.LivenessPirateWorker;
import io.github.zmqliveness.examples.RawPirateQueue;
import io.github.zmqliveness.examples.RawPirateWorker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Round trip through the migration recipes (examples package): the Paranoid Pirate queue ({@code raw},
 * {@code liveness}) and the Majordomo broker ({@code raw-mdp}, {@code liveness-mdp}), each with a REQ client and one
 * worker, all on 127.0.0.1, heartbeat 1 s x 3. Sequential requests; the first {@code warmup} are not counted.
 * Each trial runs every recipe in turn ({@code recipes=raw,liveness} picks some). {@code bench/run.sh PirateLatency} ({@code PIRATE_OPTS="n=20000 trials=3"}).
 */
public final class PirateLatency {
    public static void main(String[] args) throws Exception {
        int n = 20_000;
        int warmup = 5_000;
        int trials = 3;
        String[] kinds = {"raw", "liveness", "raw-mdp", "liveness-mdp"};
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "n": n = Integer.parseInt(kv[1]); break;
                case "warmup": warmup = Integer.parseInt(kv[1]); break;
                case "trials": trials = Integer.parseInt(kv[1]); break;
                case "recipes": kinds = kv[1].split(","); break;
                default: throw new IllegalArgumentException("unknown option " + a + " (n, warmup, trials, recipes)");
            }
        }
        System.out.println("recipe        trial  requests   p50 us   p99 us  mean us");
        for (int t = 1; t <= trials; t++) {
            for (String kind : kinds) {
                long[] rtt = run(kind, n, warmup);
                Arrays.sort(rtt);
                double mean = Arrays.stream(rtt).average().orElse(0) / 1000.0;
                System.out.printf("%-13s %5d %9d %8.1f %8.1f %8.1f%n", kind, t, rtt.length, rtt[rtt.length / 2] / 1000.0,
                        rtt[(int) (rtt.length * 0.99)] / 1000.0, mean);
            }
        }
    }

    private static long[] run(String kind, int n, int warmup) throws Exception {
        List<AutoCloseable> open = new ArrayList<>();
        Function<String, String> ask;
        switch (kind) {
            case "raw": {
                RawPirateQueue q = new RawPirateQueue(1_000, 3);
                open.add(q);
                open.add(new RawPirateWorker("w", q.backendEndpoint(), 1_000, 3));
                waitFor(q::freeWorkers);
                LazyPirateClient c = new LazyPirateClient(q.frontendEndpoint(), 5_000);
                open.add(c);
                ask = body -> c.request(body, 1);
                break;
            }
            case "liveness": {
                LivenessPirateQueue q = new LivenessPirateQueue(Duration.ofSeconds(1), 3);
                open.add(q);
                open.add(new LivenessPirateWorker("w", q.backendEndpoint(), Duration.ofSeconds(1), 3));
                waitFor(q::freeWorkers);
                LazyPirateClient c = new LazyPirateClient(q.frontendEndpoint(), 5_000);
                open.add(c);
                ask = body -> c.request(body, 1);
                break;
            }
            case "raw-mdp": {
                RawMajordomoBroker b = new RawMajordomoBroker(1_000, 3);
                open.add(b);
                open.add(new RawMajordomoWorker("w", "echo", b.endpoint(), 1_000, 3));
                waitFor(() -> b.workers("echo"));
                MajordomoClient c = new MajordomoClient(b.endpoint(), 5_000);
                open.add(c);
                ask = body -> c.request("echo", body, 1);
                break;
            }
            case "liveness-mdp": {
                LivenessMajordomoBroker b = new LivenessMajordomoBroker(Duration.ofSeconds(1), 3);
                open.add(b);
                open.add(new LivenessMajordomoWorker("w", "echo", b.endpoint(), Duration.ofSeconds(1), 3));
                waitFor(() -> b.workers("echo"));
                MajordomoClient c = new MajordomoClient(b.endpoint(), 5_000);
                open.add(c);
                ask = body -> c.request("echo", body, 1);
                break;
            }
            default:
                throw new IllegalArgumentException("unknown recipe " + kind + " (raw, liveness, raw-mdp, liveness-mdp)");
        }
        long[] rtt = new long[n];
        try {
            for (int i = -warmup; i < n; i++) {
                long start = System.nanoTime();
                if (ask.apply("x") == null) {
                    throw new IllegalStateException(kind + ": no reply within 5 s to request " + i);
                }
                if (i >= 0) {
                    rtt[i] = System.nanoTime() - start;
                }
            }
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
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
