package io.github.zmqliveness.transport;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.Session;
import io.github.zmqliveness.protocol.Command;

import java.time.Instant;

/**
 * Which life of each identity is current, and the rules that move from one to the next. Loop
 * thread only (other threads read an outbox's current session, a volatile).
 *
 * <ul>
 * <li>A plain DEALER gets a new session with every connection: its first message there begins it.
 * What was sent to "whoever holds the identity" moves on to it; what was sent to the old session
 * is dropped as stale.</li>
 * <li>A protocol client's HELLO resumes its session if it comes from the same client instance and
 * asks to (what was parked for it is written after WELCOME, in order, once); any other HELLO ends
 * the old session (everything queued or parked for it is dropped and counted stale) and begins a
 * new one.</li>
 * <li>A protocol client that lost its connection has its session parked for the resume window;
 * when the window passes, the session ends.</li>
 * </ul>
 *
 * Every message written to a protocol client is tagged with its session (a DATA frame), so even
 * what ROUTER_HANDOVER routes to a new connection before its HELLO is read carries the old
 * session's number, and the client drops it (docs/PROTOCOL.md, section 6).
 */
final class Sessions {
    private final Outboxes outboxes;
    private final Counters.Owner counters;
    private final EventDispatcher<Object> events;
    private long nextNumber = 1;

    Sessions(Outboxes outboxes, Counters.Owner counters, EventDispatcher<Object> events) {
        this.outboxes = outboxes;
        this.counters = counters;
        this.events = events;
    }

    /** The identity's current (or parked) session, or null. */
    Session current(Identity identity) {
        Outbox ob = outboxes.get(identity);
        return ob == null ? null : ob.session;
    }

    /** True if the identity's session is a protocol client's, parked (or held) for it to resume. */
    boolean parkedForProtocolClient(Identity identity) {
        Outbox ob = outboxes.get(identity);
        return ob != null && ob.parked && ob.session != null && ob.session.speaksProtocol();
    }

    /** True if {@code hello} comes from the client instance that holds the identity's current or parked session. */
    boolean sameInstance(Identity identity, Command hello) {
        Session s = current(identity);
        return s != null && s.hasInstance(hello.instance());
    }

    /** The identity joined the table: its outbox, a parked one if its session waits for it (HELLO decides), else a new one. */
    Outbox joined(Identity identity) {
        Outbox ob = outboxes.get(identity);
        return ob != null ? ob : outboxes.open(identity);
    }

    /** A plain DEALER's new connection: a new session begins; returns it. */
    Session beginPlain(Identity identity, String address) {
        Outbox ob = joined(identity);
        Session old = ob.session;
        if (old != null && old.speaksProtocol()) {
            // Everything in the queue was sent to a protocol client's life; none of it is for this connection.
            outboxes.drop(ob, Counter.DROPPED_STALE_SESSION);
        }
        ended(old, address, EvictReason.REPLACED);
        Session next = new Session(identity, nextNumber++, null);
        ob.begin(next);
        outboxes.unpark(ob);
        started(next, address);
        return next;
    }

    /**
     * A HELLO: the session resumes if {@code hello} comes from the client instance that holds it and asks to resume;
     * otherwise a new session begins and nothing queued for the old one is ever written. The caller writes WELCOME
     * through {@link Outboxes#control} before calling {@link #release}.
     */
    Session hello(Identity identity, Command hello, String address) {
        Outbox ob = joined(identity);
        Session old = ob.session;
        // Commands queued for an earlier connection (a WELCOME still waiting, a DISCONNECT) mean nothing to this one.
        ob.controls.clear();
        if (old != null && old.hasInstance(hello.instance()) && (hello.flags() & Command.FLAG_RESUME) != 0) {
            counters.inc(Counter.SESSIONS_RESUMED);
            publish(PeerEvent.Type.SESSION_RESUMED, old, address, null);
            return old;
        }
        outboxes.drop(ob, Counter.DROPPED_STALE_SESSION);
        ended(old, address, EvictReason.REPLACED);
        Session next = new Session(identity, nextNumber++, hello.instance());
        ob.begin(next);
        started(next, address);
        return next;
    }

    /** After WELCOME is queued: what the session holds (parked messages of a resumed one) may be written, in order. */
    void release(Identity identity) {
        Outbox ob = outboxes.get(identity);
        if (ob != null) {
            outboxes.unpark(ob);
        }
    }

    /** The identity is gone for good: its session ends, and what was queued for it is dropped under {@code dropped}. */
    void end(Identity identity, String address, EvictReason why, Counter dropped) {
        Outbox ob = outboxes.close(identity, dropped);
        if (ob != null) {
            ended(ob.session, address, why);
        }
    }

    /** The identity is quarantined: its session ends (reason CONFLICT), its queue is dropped. */
    void quarantine(Identity identity, String address) {
        Outbox ob = outboxes.quarantine(identity);
        if (ob != null) {
            ended(ob.session, address, EvictReason.CONFLICT);
        }
    }

    /** The protocol client lost its connection: its session waits until {@code until} for it to resume. */
    void park(Identity identity, long until) {
        Outbox ob = outboxes.get(identity);
        if (ob != null) {
            ob.controls.clear();
        }
        outboxes.park(identity, until);
    }

    /**
     * The identity's connection is gone but it is expected back (detached after a stall): what is sent to it is held,
     * not written into a pipe that no longer exists, until it returns or is evicted.
     */
    void hold(Identity identity) {
        Outbox ob = outboxes.get(identity);
        if (ob != null) {
            outboxes.hold(ob);
        }
    }

    /** Ends the parked sessions whose resume window has passed. */
    void expire(long now) {
        outboxes.expireParked(now, ob -> ended(ob.session, null, EvictReason.RESUME_EXPIRED));
    }

    /** The router closes: every session ends. */
    void closeAll() {
        for (Outbox ob : outboxes.all()) {
            ended(ob.session, null, EvictReason.SHUTDOWN);
        }
        outboxes.closeAll();
    }

    private void started(Session s, String address) {
        counters.inc(Counter.SESSIONS_STARTED);
        publish(PeerEvent.Type.SESSION_STARTED, s, address, null);
    }

    private void ended(Session s, String address, EvictReason why) {
        if (s != null) {
            counters.inc(Counter.SESSIONS_ENDED);
            publish(PeerEvent.Type.SESSION_ENDED, s, address, why);
        }
    }

    private void publish(PeerEvent.Type type, Session s, String address, EvictReason reason) {
        events.publish(new PeerEvent(type, s.identity(), s, Connections.peerOf(address), null, reason, Instant.now()));
    }
}
