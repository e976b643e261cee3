package io.github.zmqliveness.cli;

import java.util.concurrent.TimeUnit;

/**
 * Measures how long this process goes without being scheduled: a thread that asks to wake every
 * {@link #TICK_MILLIS} and notes by how much it was late. On an overloaded machine every thread of
 * the demo (router, clients, proxies) can be held up together; a stall longer than the transport
 * heartbeat timeout makes healthy peers look dead to each other, and the summary says so.
 */
final class StallWatch implements AutoCloseable {
    private static final long TICK_MILLIS = 20;

    private final long startNanos;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long longestNanos;
    private volatile long longestAtNanos;

    StallWatch(long startNanos) {
        this.startNanos = startNanos;
        this.thread = new Thread(this::run, "demo-stall-watch");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** The longest stall so far, in milliseconds. */
    long longestMillis() {
        return TimeUnit.NANOSECONDS.toMillis(longestNanos);
    }

    /** When the longest stall began, in seconds since the demo started. */
    double longestAtSeconds() {
        return (longestAtNanos - startNanos) / 1e9;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }

    private void run() {
        long tick = TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
        while (running) {
            long before = System.nanoTime();
            try {
                TimeUnit.NANOSECONDS.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
            long late = System.nanoTime() - before - tick;
            if (late > longestNanos) {
                longestNanos = late;
                longestAtNanos = before;
            }
        }
    }
}
