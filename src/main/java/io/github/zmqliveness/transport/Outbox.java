package io.github.zmqliveness.transport;

import io.github.zmqliveness.Identity;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A peer's outbound queue: filled by any thread through {@code send}, drained by the loop. Its
 * count and bytes are reserved before a message goes in, so the limits hold under concurrency.
 */
final class Outbox {
    static final class Out {
        final byte[][] frames;
        final long bytes;
        final long expiresAt;

        Out(byte[][] frames, long bytes, long expiresAt) {
            this.frames = frames;
            this.bytes = bytes;
            this.expiresAt = expiresAt;
        }
    }

    final Identity identity;
    final ConcurrentLinkedQueue<Out> queue = new ConcurrentLinkedQueue<>();
    final AtomicInteger count = new AtomicInteger();
    final AtomicLong bytes = new AtomicLong();
    /** True while the outbox sits in the loop's ready queue. */
    final AtomicBoolean scheduled = new AtomicBoolean();
    /** Set by the loop when the peer leaves the table; senders then get UNKNOWN_PEER. */
    volatile boolean closed;
    /** The peer speaks our protocol: data whose first frame looks like a command is escaped. */
    volatile boolean protocolPeer;
    /** Loop only: a message the socket refused with EAGAIN (pipe at its high-water mark), tried again first. */
    Out head;
    /**
     * The peer's connection is gone but its session is kept for the resume window: sends are
     * still accepted (PARKED) and held, not written.
     */
    volatile boolean parked;
    /** Loop only: when the parked session is given up. */
    long parkedUntil;
    /** Loop only: the instance id of the client process whose HELLO opened this session. */
    byte[] instance;
    /** Loop only: the outbox is in the loop's list of blocked outboxes. */
    boolean listedBlocked;

    Outbox(Identity identity) {
        this.identity = identity;
    }

    boolean reserve(long size, int maxCount, long maxBytes) {
        if (count.incrementAndGet() > maxCount) {
            count.decrementAndGet();
            return false;
        }
        if (bytes.addAndGet(size) > maxBytes) {
            bytes.addAndGet(-size);
            count.decrementAndGet();
            return false;
        }
        return true;
    }

    void release(Out out) {
        release(out.bytes);
    }

    /** Releases one message of {@code size} bytes. */
    void release(long size) {
        count.decrementAndGet();
        bytes.addAndGet(-size);
    }
}
