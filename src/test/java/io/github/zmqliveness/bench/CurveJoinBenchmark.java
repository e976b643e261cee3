package io.github.zmqliveness.bench;

import io.github.zmqliveness.CurveKeyPair;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.PeerEvent;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How fast N plain JeroMQ DEALERs (each its own connection and, with CURVE, its own key) all join a LivenessRouter
 * connecting at once, with CURVE and without, in the same run: the time from the first connect to the last
 * {@code joined} event. The client keys are made before the clock starts; the clients share this JVM and its 2 cores
 * with the router (their own handshake crypto included), so the figures are end-to-end on one machine.
 *
 * <p>{@code bench/run.sh CurveJoin}; arguments {@code n=1000 trials=3}.
 */
public final class CurveJoinBenchmark {
    private CurveJoinBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>();
        for (String a : args) {
            String[] kv = a.split("=", 2);
            opts.put(kv[0], kv[1]);
        }
        int n = Integer.parseInt(opts.getOrDefault("n", "1000"));
        int trials = Integer.parseInt(opts.getOrDefault("trials", "3"));
        CurveKeyPair server = CurveKeyPair.generate();
        List<CurveKeyPair> keys = new ArrayList<>();
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < n; i++) {
            CurveKeyPair k = CurveKeyPair.generate();
            keys.add(k);
            file.append(k.publicKey()).append(" c-").append(i).append('\n');
        }
        io.github.zmqliveness.AuthorizedKeys authorized = io.github.zmqliveness.AuthorizedKeys.parse(file.toString());
        System.out.printf("CurveJoinBenchmark: %d clients connecting at once, %d trials, load average %s%n", n, trials,
                new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")), StandardCharsets.US_ASCII).trim());
        Map<Boolean, List<Long>> results = new HashMap<>();
        for (int t = 0; t < trials; t++) {
            for (boolean curve : new boolean[] {false, true}) {
                long ms = trial(n, curve ? server : null, keys, authorized);
                results.computeIfAbsent(curve, c -> new ArrayList<>()).add(ms);
                System.out.printf("trial %d %-5s all %d joined in %6d ms (%.0f joins/s)%n", t + 1, curve ? "CURVE" : "NULL", n, ms,
                        n * 1000.0 / ms);
            }
        }
        for (boolean curve : new boolean[] {false, true}) {
            long[] sorted = results.get(curve).stream().mapToLong(Long::longValue).sorted().toArray();
            long median = sorted[sorted.length / 2];
            System.out.printf("%-5s median %d ms (%.0f joins/s), runs %s%n", curve ? "CURVE" : "NULL", median, n * 1000.0 / median,
                    Arrays.toString(sorted));
        }
    }

    private static long trial(int n, CurveKeyPair server, List<CurveKeyPair> keys, io.github.zmqliveness.AuthorizedKeys authorized)
            throws InterruptedException {
        AtomicInteger joined = new AtomicInteger();
        LivenessRouter.Builder b = LivenessRouter.builder().bind("tcp://127.0.0.1:*")
                .listener(e -> {
                    if (e.type() == PeerEvent.Type.JOINED) {
                        joined.incrementAndGet();
                    }
                });
        if (server != null) {
            b.curve(server.secretKey(), authorized);
        }
        try (LivenessRouter router = b.build(); ZContext ctx = new ZContext(1)) {
            String endpoint = router.endpoints().get(0);
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
                s.setIdentity(("c-" + i).getBytes(StandardCharsets.UTF_8));
                s.setLinger(0);
                s.setHandshakeIvl(5000);
                s.setReconnectIVL(100);
                if (server != null) {
                    s.setCurveServerKey(server.publicKeyBytes());
                    s.setCurvePublicKey(keys.get(i).publicKeyBytes());
                    s.setCurveSecretKey(keys.get(i).secretKeyBytes());
                }
                s.connect(endpoint);
                s.send("hi");
            }
            long deadline = start + 120_000_000_000L;
            while (joined.get() < n && System.nanoTime() < deadline) {
                Thread.sleep(5);
                while (router.receive(java.time.Duration.ZERO) != null) {
                    // drain what they said
                }
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (joined.get() < n) {
                System.out.printf("  only %d of %d joined within 120 s%n", joined.get(), n);
            }
            Identity check = Identity.of("c-0");
            if (router.peer(check).isEmpty()) {
                System.out.println("  c-0 not in the table at the end");
            }
            return ms;
        }
    }
}
