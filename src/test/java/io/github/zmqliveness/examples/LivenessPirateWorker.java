package io.github.zmqliveness.examples;

import io.github.zmqliveness.DealerClient;
import io.github.zmqliveness.Message;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * After: the worker of {@link LivenessPirateQueue}, a {@link DealerClient}. It answers each request [client, "", body]
 * with [client, "", name + ":" + body]; heartbeats, the detection of a dead queue and reconnecting with backoff and
 * jitter are the client's.
 */
public final class LivenessPirateWorker implements AutoCloseable {
    private final DealerClient client;
    private final Thread thread;
    private volatile boolean running = true;

    public LivenessPirateWorker(String name, String endpoint, Duration interval, int liveness) {
        client = DealerClient.builder().identity(name).connect(endpoint).heartbeat(interval, liveness).build();
        thread = new Thread(() -> {
            while (running) {
                Message m = client.receive(Duration.ofMillis(100));
                if (m != null) {
                    List<byte[]> f = m.frames();
                    client.send(f.get(0), f.get(1), (name + ":" + new String(f.get(2), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                }
            }
        }, "liveness-pirate-worker-" + name);
        thread.start();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        client.close();
    }
}
