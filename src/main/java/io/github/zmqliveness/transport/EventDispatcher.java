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
 * loop; a listener that throws is counted and logged, and later events are still delivered. The router's peer
 * events and the client's events both go through one of these.
 */
final class EventDispatcher<E> {
    private final Consumer<? super E> listener;
    private final ExecutorService executor;
    private final Runnable onListenerError;
    private final Logger log;
    private volatile Thread dispatchThread;

    /** {@code listener} may be null: then events are only logged at DEBUG. */
    EventDispatcher(Consumer<? super E> listener, String threadName, Runnable onListenerError, Logger log) {
        this.listener = listener;
        this.onListenerError = onListenerError;
        this.log = log;
        this.executor = listener == null ? null : new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
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
                    log.warn("listener threw on {}; later events are still delivered", event, e);
                }
            });
        } catch (RejectedExecutionException e) {
            // closing: events after close are not delivered
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
