package io.github.zmqliveness.transport;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Session;
import io.github.zmqliveness.protocol.Command;

import java.util.ArrayDeque;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An identity's outbound queue and the session it delivers to: filled by any thread through
 * {@code send}, drained by the loop. Its count and bytes are reserved before a message goes in, so
 * the limits hold under concurrency.
 *
 * <p>This is where an identity's session state lives: which session is current, whether it is
 * parked (its client away, within the resume window), and the DATA frame that tags what is written
 * to a protocol client with that session. Each queued message is bound to the session it was sent
 * to ({@link Out#session}; 0 for "whoever holds the identity" on a plain DEALER): a message whose
 * session is no longer current when its turn comes is dropped as stale, never written.
 */
final class Outbox {
    static final class Out {
        final byte[][] frames;
        final long bytes;
        final long expiresAt;
        /** The session number this message is for, or 0 for whichever session holds the identity when it is written. */
        final long session;

        Out(byte[][] frames, long bytes, long expiresAt, long session) {
            this.frames = frames;
            this.bytes = bytes;
            this.expiresAt = expiresAt;
            this.session = session;
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
    /** The identity's current session; null until its first one begins. Written by the loop only. */
    volatile Session session;
    /** Loop only: the DATA frame that tags every message written to the current session, null for a plain DEALER. */
    byte[] dataTag;
    /** Loop only: protocol commands that found the pipe full; written before any data, never dropped for a full pipe. */
    final ArrayDeque<byte[]> controls = new ArrayDeque<>(2);
    /** Loop only: a message the socket refused with EAGAIN (pipe at its high-water mark), tried again first. */
    Out head;
    /**
     * The peer's connection is gone but its session is kept for the resume window: sends are
     * still accepted (PARKED) and held, not written.
     */
    volatile boolean parked;
    /** Loop only: when the parked session is given up. */
    long parkedUntil;
    /** Loop only: the outbox is in the loop's list of blocked outboxes. */
    boolean listedBlocked;

    Outbox(Identity identity) {
        this.identity = identity;
    }

    /** Loop only: the current session's number, or 0. */
    long sessionNumber() {
        Session s = session;
        return s == null ? 0 : s.number();
    }

    /** Loop only: {@code next} is current from now on; messages bound to another session will be dropped as stale. */
    void begin(Session next) {
        session = next;
        dataTag = next.speaksProtocol() ? Command.data(next.number()).encode() : null;
    }

    /** The session a message sent now is bound to: {@code target}'s, else the current one for a protocol client, else none. */
    long bind(Session target) {
        if (target != null) {
            return target.number();
        }
        Session s = session;
        return s != null && s.speaksProtocol() ? s.number() : 0;
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
