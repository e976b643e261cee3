package io.github.zmqliveness.transport;

import io.github.zmqliveness.Message;
import io.github.zmqliveness.MessageHandler;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Where the router's received application messages go: to the application's {@link MessageHandler}, called on the
 * loop thread, or into the bounded queue that {@code receive()} takes from on the application's threads. The queue
 * never overflows: the loop reads at most as many messages as it has room for, and stops reading (paused) while it
 * is full, until the application takes some.
 */
final class Inbox {
    private final MessageHandler handler;
    private final BlockingQueue<Message> queue;
    private final int capacity;
    private final Counters.Owner counters;
    private final RateLimitedLog log;
    private final Runnable wakeLoop;
    /** Written by the loop when it pauses or resumes reading; read by receivers, who wake it once there is room. */
    private volatile boolean paused;

    Inbox(MessageHandler handler, int capacity, Counters.Owner counters, RateLimitedLog log, Runnable wakeLoop) {
        this.handler = handler;
        this.capacity = capacity;
        this.queue = handler == null ? new ArrayBlockingQueue<>(capacity) : null;
        this.counters = counters;
        this.log = log;
        this.wakeLoop = wakeLoop;
    }

    // ------------------------------------------------------------------ loop thread

    /**
     * How many messages the loop may read now, at most {@code batch}; 0 pauses reading until a receiver makes room.
     * Only the loop fills the queue and a message adds at most one, so a batch of this size cannot overflow it.
     */
    int room(int batch) {
        if (queue == null) {
            return batch;
        }
        int room = queue.remainingCapacity();
        if (room == 0) {
            if (!paused) {
                paused = true;
                log.warn("receive-full", System.nanoTime(), "receive queue is full ({} messages): reading paused until the application "
                        + "calls receive()", capacity);
            }
            return 0;
        }
        if (paused) {
            paused = false;
        }
        return Math.min(batch, room);
    }

    /** True while reading is paused for a full queue. */
    boolean paused() {
        return paused;
    }

    /** Hands one message to the application. A handler that throws (or raises an Error) is counted, never fatal. */
    void deliver(Message m) {
        counters.inc(Counter.MESSAGES_DELIVERED);
        if (handler != null) {
            try {
                handler.onMessage(m);
            } catch (RuntimeException | LinkageError | AssertionError | StackOverflowError e) {
                counters.inc(Counter.HANDLER_ERRORS);
                log.warn("handler", System.nanoTime(), "message handler threw on {}: {}", m, e.toString());
            }
        } else if (!queue.offer(m)) {
            throw new IllegalStateException("receive queue overflow: room() was not asked"); // a bug of ours
        }
    }

    // ------------------------------------------------------------------ application threads

    /** The next message, waiting up to the timeout while {@code waiting} (else only what is there). */
    Message receive(long timeout, TimeUnit unit, boolean waiting) throws InterruptedException {
        if (queue == null) {
            throw new IllegalStateException("this router hands messages to its MessageHandler; receive() is for routers built without one");
        }
        Message m = waiting ? queue.poll(timeout, unit) : queue.poll();
        if (m != null && paused) {
            wakeLoop.run(); // there is room again: reading can go on
        }
        return m;
    }

    /** Waits for one message, then takes what else is already there, up to {@code max} in all. */
    int receive(List<Message> into, int max, long timeout, TimeUnit unit, boolean waiting) throws InterruptedException {
        Message first = receive(timeout, unit, waiting);
        if (first == null) {
            return 0;
        }
        into.add(first);
        int more = queue.drainTo(into, max - 1);
        if (more > 0 && paused) {
            wakeLoop.run();
        }
        return 1 + more;
    }
}
