package io.github.zmqliveness.transport;

import io.github.zmqliveness.Message;
import io.github.zmqliveness.MessageHandler;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Where the router's received application messages go: to the application's {@link MessageHandler}, called on the
 * loop thread, or into the bounded queue that {@code receive()} takes from on the application's threads.
 *
 * <p>A full queue pauses delivery, not liveness: the loop goes on reading, so heartbeats, HELLOs and goodbyes are
 * answered while the application is away, and holds the data it reads meanwhile in a backlog of as many messages
 * again, moved into the queue in order as the application makes room. Only when the backlog is full too does the
 * loop stop reading (paused): then it cannot hear its peers, and that time counts as a stall. Nothing overflows: the
 * loop reads at most as many messages as there is room for in both.
 */
final class Inbox {
    private final MessageHandler handler;
    private final BlockingQueue<Message> queue;
    private final int capacity;
    private final Counters.Owner counters;
    private final RateLimitedLog log;
    private final Runnable wakeLoop;
    /** Loop only: data read while the queue was full, oldest first, ahead of anything read later; at most capacity. */
    private final ArrayDeque<Message> backlog;
    /** Written by the loop when it pauses or resumes reading; read by receivers, who wake it once there is room. */
    private volatile boolean paused;
    /** Written by the loop: the backlog holds messages, so receivers wake it when they make room. */
    private volatile boolean backlogged;
    /** What the backlog held when the router closed: handed out after the queue, then nothing. */
    private volatile ConcurrentLinkedQueue<Message> leftAtClose;

    Inbox(MessageHandler handler, int capacity, Counters.Owner counters, RateLimitedLog log, Runnable wakeLoop) {
        this.handler = handler;
        this.capacity = capacity;
        this.queue = handler == null ? new ArrayBlockingQueue<>(capacity) : null;
        this.backlog = handler == null ? new ArrayDeque<>() : null;
        this.counters = counters;
        this.log = log;
        this.wakeLoop = wakeLoop;
    }

    // ------------------------------------------------------------------ loop thread

    /**
     * How many messages the loop may read now, at most {@code batch}; 0 pauses reading until a receiver makes room.
     * Only the loop fills the queue and the backlog and a message adds at most one, so a batch of this size cannot
     * overflow them. Moves what the backlog holds into the queue first, as far as there is room.
     */
    int room(int batch) {
        if (queue == null) {
            return batch;
        }
        refill();
        // While the backlog holds anything, every message goes behind it, even if a receiver has just made room in the
        // queue (after refill() found it full): that room is not for this batch.
        int room = backlog.isEmpty() ? queue.remainingCapacity() + capacity : capacity - backlog.size();
        if (room == 0) {
            if (!paused) {
                paused = true;
                log.warn("receive-full", System.nanoTime(), "receive queue is full ({} messages) and as many again wait behind it: "
                        + "reading paused until the application calls receive(); meanwhile the router cannot hear its peers "
                        + "(counted as a stall). Call receive() more often, or raise receiveQueueCapacity", capacity);
            }
            return 0;
        }
        if (paused) {
            paused = false;
        }
        return Math.min(batch, room);
    }

    /** Moves backlog messages into the queue, oldest first, while it has room. */
    private void refill() {
        if (backlog.isEmpty()) {
            return;
        }
        Message m;
        while ((m = backlog.peekFirst()) != null && queue.offer(m)) {
            backlog.pollFirst();
        }
        if (backlog.isEmpty()) {
            backlogged = false;
        }
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
        } else if (!backlog.isEmpty() || !queue.offer(m)) {
            if (backlog.size() >= capacity) {
                throw new IllegalStateException("receive backlog overflow: room() was not asked"); // a bug of ours
            }
            if (backlog.isEmpty()) {
                backlogged = true;
                log.warn("receive-backlog", System.nanoTime(), "receive queue is full ({} messages): the router goes on "
                        + "reading and answering heartbeats, and holds up to as many messages again until the application "
                        + "calls receive()", capacity);
            }
            backlog.addLast(m);
        }
    }

    /** The router closed: what the backlog holds is handed out after the queue, in order. */
    void close() {
        if (backlog != null && !backlog.isEmpty()) {
            leftAtClose = new ConcurrentLinkedQueue<>(backlog);
            backlog.clear();
        }
    }

    // ------------------------------------------------------------------ application threads

    /** Throws if messages go to a handler: receive() has nothing to give. */
    void checkReceivable() {
        if (queue == null) {
            throw new IllegalStateException("this router hands messages to its MessageHandler; receive() is for routers built without one");
        }
    }

    /** Caller-driven mode, on the driving thread: a message is in the queue for receive(). */
    boolean hasMessage() {
        return queue != null && !queue.isEmpty();
    }

    /** The next message, waiting up to the timeout while {@code waiting} (else only what is there). */
    Message receive(long timeout, TimeUnit unit, boolean waiting) throws InterruptedException {
        checkReceivable();
        Message m = waiting ? queue.poll(timeout, unit) : queue.poll();
        if (m == null) {
            ConcurrentLinkedQueue<Message> left = leftAtClose;
            return left == null ? null : left.poll();
        }
        if (paused || backlogged) {
            wakeLoop.run(); // there is room again: the backlog moves up, reading goes on
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
        if (more > 0 && (paused || backlogged)) {
            wakeLoop.run();
        }
        ConcurrentLinkedQueue<Message> left = leftAtClose;
        Message m;
        while (left != null && 1 + more < max && (m = left.poll()) != null) {
            into.add(m);
            more++;
        }
        return 1 + more;
    }
}
