package io.github.zmqliveness.transport;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.SendResult;
import io.github.zmqliveness.Session;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Every peer's outbound queue, and the order in which the loop writes them. Any thread may
 * {@link #offer}; everything else runs on the loop thread. An outbox is ready (has new messages),
 * blocked (its pipe said EAGAIN: retried every 10 ms), or parked (its peer is away and may
 * resume its session: held, not written, until the window ends).
 */
final class Outboxes {
    /**
     * Writes one message of {@code bytes} bytes to the socket and releases it from {@code ob} (sent
     * or dropped); false if the peer's pipe is full and it must wait.
     */
    interface Writer {
        boolean write(Outbox ob, byte[][] frames, long bytes);

        /** Writes one protocol command to {@code ob}'s peer; false if the pipe is full. */
        boolean writeControl(Outbox ob, byte[] command);
    }

    private static final long BLOCKED_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final ConcurrentHashMap<Identity, Outbox> byIdentity = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Outbox> ready = new ConcurrentLinkedQueue<>();
    private final Map<Identity, Boolean> quarantined = new ConcurrentHashMap<>();
    private final ArrayDeque<Outbox> blocked = new ArrayDeque<>();
    /** (outbox, parkedUntil) in the order they were parked, which is the order they expire. */
    private final ArrayDeque<Object[]> parked = new ArrayDeque<>();
    /** For counts made on any thread. */
    private final Counters counters;
    /** For counts made on the loop thread. */
    private final Counters.Owner loopCounters;
    private final int maxMessages;
    private final long maxBytes;
    private final long defaultTtlNanos;
    private final Runnable wake;
    /** Writes on the loop thread; set by the loop once its socket exists. */
    private Writer direct;
    private long lastBlockedRetry;

    Outboxes(Counters counters, int maxMessages, long maxBytes, long defaultTtlNanos, Runnable wake) {
        this.counters = counters;
        this.loopCounters = counters.owner();
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
        this.defaultTtlNanos = defaultTtlNanos;
        this.wake = wake;
    }

    // ------------------------------------------------------------------ any thread

    /**
     * Queues a message of {@code size} bytes for {@code identity}, or for {@code target} only if it is not null;
     * {@code ttlNanos} 0 means the default.
     */
    SendResult offer(Identity identity, Session target, byte[][] frames, long size, long ttlNanos, boolean onLoopThread) {
        Outbox ob = byIdentity.get(identity);
        if (target != null && (ob == null || ob.sessionNumber() != target.number())) {
            counters.inc(Counter.REFUSED_STALE_SESSION);
            return SendResult.STALE_SESSION;
        }
        if (ob == null) {
            if (quarantined.containsKey(identity)) {
                counters.inc(Counter.DROPPED_QUARANTINED);
                return SendResult.QUARANTINED;
            }
            counters.inc(Counter.DROPPED_UNKNOWN_PEER);
            return SendResult.UNKNOWN_PEER;
        }
        if (!ob.reserve(size, maxMessages, maxBytes)) {
            counters.inc(Counter.DROPPED_QUEUE_FULL);
            return SendResult.DROPPED_QUEUE_FULL;
        }
        long ttl = ttlNanos > 0 ? ttlNanos : defaultTtlNanos;
        long expiresAt = ttl == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + ttl;
        long bound = ob.bind(target);
        // On the loop thread (a MessageHandler's reply, say), a message for an outbox with nothing
        // waiting is written at once instead of queued: the same order, less work.
        Writer writer = onLoopThread ? direct : null;
        if (writer != null && !ob.parked && !ob.closed && ob.head == null && ob.controls.isEmpty() && !ob.scheduled.get()
                && ob.queue.isEmpty()) {
            loopCounters.inc(Counter.MESSAGES_ACCEPTED);
            if (!writer.write(ob, frames, size)) {
                // the pipe is full: it waits first in line, retried with the blocked
                ob.head = new Outbox.Out(frames, size, expiresAt, bound);
                listBlocked(ob);
            }
            return SendResult.QUEUED;
        }
        Outbox.Out out = new Outbox.Out(frames, size, expiresAt, bound);
        ob.queue.offer(out);
        if (ob.closed && ob.queue.remove(out)) {
            // the loop closed it meanwhile and will not see this message: take it back
            ob.release(out);
            counters.inc(Counter.DROPPED_UNKNOWN_PEER);
            return SendResult.UNKNOWN_PEER;
        }
        if (onLoopThread) {
            loopCounters.inc(Counter.MESSAGES_ACCEPTED);
        } else {
            counters.inc(Counter.MESSAGES_ACCEPTED);
        }
        if (ob.parked) {
            return SendResult.PARKED; // the loop writes it if the session resumes
        }
        if (ob.scheduled.compareAndSet(false, true)) {
            ready.add(ob);
            if (!onLoopThread) {
                wake.run();
            }
        }
        return SendResult.QUEUED;
    }

    /** Lets sends made on the loop thread write at once through {@code writer}. */
    void writeDirectlyWith(Writer writer) {
        this.direct = writer;
    }

    Outbox get(Identity identity) {
        return byIdentity.get(identity);
    }

    // ------------------------------------------------------------------ loop thread

    Outbox open(Identity identity) {
        Outbox ob = new Outbox(identity);
        byIdentity.put(identity, ob);
        return ob;
    }

    /** The peer is gone for good: refuse further sends and drop what is queued, counted under {@code reason}. */
    Outbox close(Identity identity, Counter reason) {
        Outbox ob = byIdentity.remove(identity);
        if (ob == null) {
            return null;
        }
        ob.closed = true;
        ob.controls.clear();
        unlistBlocked(ob);
        drop(ob, reason);
        return ob;
    }

    void closeAll() {
        for (Identity id : byIdentity.keySet()) {
            close(id, Counter.DROPPED_ON_CLOSE);
        }
    }

    /** Every outbox (loop thread; for closing). */
    Iterable<Outbox> all() {
        return byIdentity.values();
    }

    /**
     * Queues a protocol command for {@code ob}'s peer, to be written before any data and retried while the pipe is
     * full (a WELCOME lost to a full pipe would leave a new client unserved).
     */
    void control(Outbox ob, byte[] command) {
        ob.controls.add(command);
        if (ob.scheduled.compareAndSet(false, true)) {
            ready.add(ob);
        }
    }

    /** Drops everything queued in {@code ob}, counted under {@code reason}. */
    void drop(Outbox ob, Counter reason) {
        long dropped = 0;
        if (ob.head != null) {
            ob.release(ob.head);
            ob.head = null;
            dropped++;
        }
        Outbox.Out o;
        while ((o = ob.queue.poll()) != null) {
            ob.release(o);
            dropped++;
        }
        loopCounters.add(reason, dropped);
    }

    Outbox quarantine(Identity identity) {
        quarantined.put(identity, Boolean.TRUE);
        return close(identity, Counter.DROPPED_CONFLICT);
    }

    void endQuarantine(Identity identity) {
        quarantined.remove(identity);
    }

    /** Holds the peer's queue until {@code until}; a message the old pipe refused stays first in line. */
    void park(Identity identity, long until) {
        Outbox ob = byIdentity.get(identity);
        if (ob == null) {
            return;
        }
        ob.parked = true;
        ob.parkedUntil = until;
        unlistBlocked(ob);
        parked.add(new Object[] {ob, until});
        loopCounters.inc(Counter.SESSIONS_PARKED);
    }

    /**
     * Holds what is sent to {@code ob} (sends return PARKED) without a window of its own: the caller later parks it
     * with a window, closes it, or unparks it.
     */
    void hold(Outbox ob) {
        ob.parked = true;
        ob.parkedUntil = Long.MAX_VALUE;
        unlistBlocked(ob);
    }

    /** The session goes on: what was held is written, in order, from the next flush. */
    void unpark(Outbox ob) {
        if (ob.parked) {
            ob.parked = false;
            if (ob.scheduled.compareAndSet(false, true)) {
                ready.add(ob);
            }
        }
    }

    /** Closes the parked outboxes whose window has passed and hands each to {@code expired}. */
    void expireParked(long now, java.util.function.Consumer<Outbox> expired) {
        while (!parked.isEmpty() && (long) parked.peekFirst()[1] <= now) {
            Object[] entry = parked.pollFirst();
            Outbox ob = (Outbox) entry[0];
            if (ob.parked && ob.parkedUntil == (long) entry[1] && byIdentity.get(ob.identity) == ob) {
                close(ob.identity, Counter.DROPPED_RESUME_EXPIRED);
                expired.accept(ob);
            }
        }
    }

    /** True while the loop must come back soon: messages ready, or pipes to retry. */
    boolean busy() {
        return !ready.isEmpty();
    }

    boolean anyBlocked() {
        return !blocked.isEmpty();
    }

    /** Writes what is ready, and every 10 ms retries the blocked; returns how many messages were written. */
    int flush(long now, Writer writer) {
        int written = 0;
        Outbox ob;
        while ((ob = ready.poll()) != null) {
            ob.scheduled.set(false);
            written += drain(ob, now, writer);
        }
        if (!blocked.isEmpty() && now - lastBlockedRetry >= BLOCKED_RETRY_NANOS) {
            lastBlockedRetry = now;
            for (int i = blocked.size(); i > 0; i--) {
                Outbox b = blocked.pollFirst();
                b.listedBlocked = false;
                written += drain(b, now, writer);
            }
        }
        return written;
    }

    private int drain(Outbox ob, long now, Writer writer) {
        if (ob.closed) {
            drop(ob, Counter.DROPPED_PEER_GONE);
            return 0;
        }
        if (ob.parked) {
            return 0; // held until the session resumes or the window ends
        }
        while (!ob.controls.isEmpty()) {
            if (!writer.writeControl(ob, ob.controls.peekFirst())) {
                listBlocked(ob);
                return 0;
            }
            ob.controls.pollFirst();
        }
        int written = 0;
        long current = ob.sessionNumber();
        Outbox.Out o = ob.head;
        ob.head = null;
        if (o == null) {
            o = ob.queue.poll();
        }
        for (; o != null; o = ob.queue.poll()) {
            if (o.expiresAt <= now) {
                ob.release(o);
                loopCounters.inc(Counter.DROPPED_EXPIRED);
                continue;
            }
            if (o.session != 0 && o.session != current) {
                ob.release(o); // sent to a session that has ended since: never written to its successor
                loopCounters.inc(Counter.DROPPED_STALE_SESSION);
                continue;
            }
            if (!writer.write(ob, o.frames, o.bytes)) {
                ob.head = o;
                listBlocked(ob);
                return written;
            }
            written++;
        }
        return written;
    }

    private void listBlocked(Outbox ob) {
        if (!ob.listedBlocked) {
            ob.listedBlocked = true;
            blocked.add(ob);
        }
    }

    private void unlistBlocked(Outbox ob) {
        if (ob.listedBlocked) {
            ob.listedBlocked = false;
            blocked.remove(ob);
        }
    }
}
