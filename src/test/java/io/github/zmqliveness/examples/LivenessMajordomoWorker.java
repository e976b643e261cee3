package io.github.zmqliveness.examples;

import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.DealerClient;
import io.github.zmqliveness.Message;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.github.zmqliveness.examples.RawMajordomoBroker.READY;
import static io.github.zmqliveness.examples.RawMajordomoBroker.REPLY;
import static io.github.zmqliveness.examples.RawMajordomoBroker.WORKER;

/**
 * After: the worker of {@link LivenessMajordomoBroker}, a {@link DealerClient}. It says READY for its service at the
 * start of each session, and answers each request [MDPW01, REQUEST, body] with [MDPW01, REPLY, name + ":" + body];
 * heartbeats, the detection of a dead broker and reconnecting with backoff and jitter are the client's.
 */
public final class LivenessMajordomoWorker implements AutoCloseable {
    private static final byte[] HEADER = WORKER.getBytes(StandardCharsets.UTF_8);
    private final DealerClient client;
    private final byte[] service;
    private final Thread thread;
    private volatile boolean running = true;
    private final AtomicBoolean sayReady = new AtomicBoolean();

    public LivenessMajordomoWorker(String name, String service, String endpoint, Duration interval, int liveness) {
        this.service = service.getBytes(StandardCharsets.UTF_8);
        client = DealerClient.builder().identity(name).connect(endpoint).heartbeat(interval, liveness)
                .listener(e -> {
                    if (e.type() == ClientEvent.Type.CONNECTED || e.type() == ClientEvent.Type.REJOINED) {
                        sayReady.set(true);
                    }
                }).build();
        thread = new Thread(() -> {
            while (running) {
                if (sayReady.getAndSet(false)) { // at the start of each session: a broker knows a worker from its READY on
                    client.send(HEADER, new byte[] {READY}, this.service);
                }
                Message m = client.receive(Duration.ofMillis(100));
                if (m != null && m.frames().size() == 3) {
                    String body = new String(m.frames().get(2), StandardCharsets.UTF_8);
                    client.send(HEADER, new byte[] {REPLY}, (name + ":" + body).getBytes(StandardCharsets.UTF_8));
                }
            }
        }, "liveness-majordomo-worker-" + name);
        thread.start();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        client.close();
    }
}
