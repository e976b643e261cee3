package io.github.zmqliveness.cli;

import io.github.zmqliveness.ClientState;
import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.DealerClient;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * A host running the companion {@link DealerClient}: it heartbeats, notices a dead server itself,
 * reconnects and rejoins; and it sends a small message every {@link SimulatedClient#SEND_EVERY}
 * from its own thread. Its events are kept for the script to wait on.
 */
final class SimulatedDealerClient implements AutoCloseable {
    /** Quick reconnects, so a link that comes back is used again within about a second. */
    private static final Duration BACKOFF_INITIAL = Duration.ofMillis(100);
    private static final Duration BACKOFF_MAX = Duration.ofSeconds(1);

    private final String name;
    private final String identity;
    private final DealerClient.Builder builder;
    private final EventRecorder<ClientEvent> events;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final AtomicLong sent = new AtomicLong();
    private final Thread thread;
    private volatile DealerClient client;

    /**
     * A client called {@code name} (for the screen) presenting {@code identity} to the router at
     * {@code endpoint}, with the router's heartbeat settings; {@code onEvent} sees each of its
     * events with its name. Not started.
     */
    SimulatedDealerClient(String name, String identity, String endpoint, Duration heartbeat, int liveness,
                          BiConsumer<String, ClientEvent> onEvent) {
        this.name = name;
        this.identity = identity;
        this.events = new EventRecorder<>(e -> onEvent.accept(name, e));
        this.builder = DealerClient.builder()
                .identity(identity)
                .connect(endpoint)
                .heartbeat(heartbeat, liveness)
                .backoff(BACKOFF_INITIAL, BACKOFF_MAX, 2)
                .listener(events::record);
        this.thread = new Thread(this::run, "client-" + name);
        this.thread.setDaemon(true);
    }

    String name() {
        return name;
    }

    String identity() {
        return identity;
    }

    EventRecorder<ClientEvent> events() {
        return events;
    }

    /** Connects in the background and starts sending. */
    SimulatedDealerClient start() {
        client = builder.build();
        thread.start();
        return this;
    }

    /** CONNECTING, READY, BACKOFF, STOPPED or CLOSED; null before {@link #start()}. */
    ClientState state() {
        DealerClient c = client;
        return c == null ? null : c.state();
    }

    long session() {
        DealerClient c = client;
        return c == null ? 0 : c.session();
    }

    Map<String, Long> counters() {
        DealerClient c = client;
        return c == null ? Map.of() : c.counters();
    }

    /** Messages the client accepted (queued, or parked while it reconnects). */
    long sent() {
        return sent.get();
    }

    /** Stops sending and closes the client, which says BYE if a session is up. */
    @Override
    public void close() {
        stop.countDown();
        DealerClient c = client;
        if (c != null) {
            c.close();
        }
    }

    private void run() {
        try {
            long n = 0;
            do {
                if (client.send((name + " #" + n++).getBytes(StandardCharsets.UTF_8)).isAccepted()) {
                    sent.incrementAndGet();
                }
            } while (!stop.await(SimulatedClient.SEND_EVERY.toMillis(), TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
