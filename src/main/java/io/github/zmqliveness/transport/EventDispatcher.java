package io.github.zmqliveness.transport;

import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Delivers peer events to the listener on one thread of its own, in order, so a slow listener
 * never stalls the socket loop.
 */
final class EventDispatcher {
    private static final Logger log = LoggerFactory.getLogger("io.github.zmqliveness.LivenessRouter");

    private final PeerListener listener;
    private final ExecutorService executor;
    private final Counters counters;

    EventDispatcher(PeerListener listener, Counters counters) {
        this.listener = listener;
        this.counters = counters;
        this.executor = listener == null ? null : new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "zmq-liveness-events");
            t.setDaemon(true);
            return t;
        });
    }

    void publish(PeerEvent event) {
        if (log.isDebugEnabled()) {
            log.debug("peer event: {}", event);
        }
        if (executor == null) {
            return;
        }
        try {
            executor.execute(() -> {
                try {
                    listener.onEvent(event);
                } catch (RuntimeException e) {
                    counters.inc(Counter.LISTENER_ERRORS);
                    log.warn("peer listener threw on {}; later events are still delivered", event, e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: events after close are not delivered
        }
    }

    /** Delivers what is queued, waiting at most {@code timeout}; true if everything was delivered. */
    boolean close(Duration timeout) {
        if (executor == null) {
            return true;
        }
        executor.shutdown();
        try {
            return executor.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            executor.shutdownNow();
        }
    }
}
