package io.github.zmqliveness.transport;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Delivers events to one listener on a thread of its own, in order, so a slow listener never stalls the socket
 * loop; a listener that throws is counted and logged (rate limited), and later events are still delivered. The
 * queue is bounded: when a listener falls {@link #DEFAULT_CAPACITY} events behind, newer events are dropped, counted
 * and logged (rate limited) rather than grow the heap without bound. The router's peer events and the client's
 * events both go through one of these.
 */
final class EventDispatcher<E> {
    private final Consumer<? super E> listener;
    private final ExecutorService executor;
    private final Runnable onListenerError;
    /** Events a listener may be behind before newer ones are dropped. */
    static final int DEFAULT_CAPACITY = 100_000;
    private final Logger log;
    private final RateLimitedLog rateLimited;
    private final Runnable onDropped;
    private final int capacity;
    private volatile Thread dispatchThread;

    /**
     * {@code listener} may be null: then events are only logged at DEBUG. {@code onDropped} counts each event dropped
     * because {@code capacity} events were waiting.
     */
    EventDispatcher(Consumer<? super E> listener, String threadName, Runnable onListenerError, Runnable onDropped, int capacity,
            Logger log) {
        this.listener = listener;
        this.onListenerError = onListenerError;
        this.onDropped = onDropped;
        this.capacity = capacity;
        this.log = log;
        this.rateLimited = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
        this.executor = listener == null ? null : new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(capacity), r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            dispatchThread = t;
            return t;
        });
    }

    void publish(E event) {
        if (log.isDebugEnabled()) {
            log.debug("event: {}", event);
        }
        if (executor == null) {
            return;
        }
        try {
            executor.execute(() -> {
                try {
                    listener.accept(event);
                } catch (RuntimeException e) {
                    onListenerError.run();
                    rateLimited.warn("listener", System.nanoTime(), "listener threw on {}; later events are still delivered", event, e);
                }
            });
        } catch (RejectedExecutionException e) {
            if (!executor.isShutdown()) { // else closing: events after close are not delivered
                onDropped.run();
                rateLimited.warn("events-dropped", System.nanoTime(), "the listener is {} events behind; dropped {} (and count "
                        + "the others in eventsDropped): a listener must return quickly", capacity, event);
            }
        }
    }

    /** True on the thread that runs the listener (where waiting for the listener would wait for itself). */
    boolean isDispatchThread() {
        return Thread.currentThread() == dispatchThread;
    }

    /**
     * Delivers what is queued, waiting at most {@code timeout}; true if everything was delivered. Called from the
     * listener itself it does not wait: what is queued is delivered after the listener returns.
     */
    boolean close(Duration timeout) {
        if (executor == null) {
            return true;
        }
        executor.shutdown();
        if (isDispatchThread()) {
            return false;
        }
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
