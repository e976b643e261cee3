package io.github.zmqliveness;

import java.time.Instant;
import java.util.Objects;

/** Something that happened to one identity. Immutable. */
public final class PeerEvent {
    /** The kinds of event, in the order a peer's life usually shows them. */
    public enum Type {
        /** First message from an identity not in the table. */
        JOINED,
        /** The identity arrived on a new connection; the old connection was shut down. */
        TOOK_OVER,
        /** A heartbeating peer missed heartbeats. */
        SUSPECT,
        /** A suspect peer was heard again. */
        RECOVERED,
        /** Connections fought over the identity; it is quarantined. Followed by EVICTED (CONFLICT). */
        CONFLICT,
        /** The peer was removed and its connection released; {@link #reason()} says why. */
        EVICTED,
        /** The peer said goodbye and was removed; reason {@link EvictReason#BYE}. */
        LEFT,
        /**
         * A new session began under the identity ({@link #session()}): a protocol client's HELLO that
         * did not resume, or a plain DEALER's new connection. Follows JOINED or TOOK_OVER.
         */
        SESSION_STARTED,
        /** A protocol client came back on a new connection and resumed its session; what was parked for it follows. */
        SESSION_RESUMED,
        /**
         * A session ended for good ({@link #reason()} says why): nothing sent to it is delivered any more, and
         * {@link LivenessRouter#send(Session, byte[]...)} to it returns {@link SendResult#STALE_SESSION}. A protocol
         * client that lost its connection has its session parked, not ended, until the resume window passes.
         */
        SESSION_ENDED,
        /**
         * A connection was turned away before it was served: {@link #refusal()} says why, {@link #address()} where from.
         * {@link #identity()} is the identity it would have been served under, or null if that is not known (an unknown
         * key). Rate limited: at most 100 a second are published, the rest counted ({@code refusedEventsSuppressed}).
         */
        REFUSED
    }

    private final Type type;
    private final Identity identity;
    private final String address;
    private final String previousAddress;
    private final EvictReason reason;
    private final Instant time;
    private final Session session;
    private final boolean duringStall;
    private final RefusalReason refusal;

    public PeerEvent(Type type, Identity identity, String address, String previousAddress, EvictReason reason, Instant time) {
        this(type, identity, null, address, previousAddress, reason, time);
    }

    /** An event about {@code session} (null for the events of an identity with no session yet). */
    public PeerEvent(Type type, Identity identity, Session session, String address, String previousAddress, EvictReason reason,
                     Instant time) {
        this(type, identity, session, address, previousAddress, reason, time, false);
    }

    /** As the constructor above; {@code duringStall}: see {@link #duringStall()}. */
    public PeerEvent(Type type, Identity identity, Session session, String address, String previousAddress, EvictReason reason,
                     Instant time, boolean duringStall) {
        this(type, identity, session, address, previousAddress, reason, time, duringStall, null);
    }

    private PeerEvent(Type type, Identity identity, Session session, String address, String previousAddress, EvictReason reason,
                      Instant time, boolean duringStall, RefusalReason refusal) {
        this.refusal = refusal;
        this.duringStall = duringStall;
        this.session = session;
        this.type = Objects.requireNonNull(type);
        this.identity = type == Type.REFUSED ? identity : Objects.requireNonNull(identity);
        this.address = address;
        this.previousAddress = previousAddress;
        this.reason = reason;
        this.time = Objects.requireNonNull(time);
    }

    /**
     * A {@link Type#REFUSED} event.
     *
     * @param identity the identity the connection would have been served under, or null if not known
     */
    public static PeerEvent refused(RefusalReason why, Identity identity, String address, Instant time) {
        return new PeerEvent(Type.REFUSED, identity, null, address, null, null, time, false, Objects.requireNonNull(why));
    }

    /** For {@link Type#REFUSED}: why; null otherwise. */
    public RefusalReason refusal() {
        return refusal;
    }

    public Type type() {
        return type;
    }

    /** The identity; never null except for a {@link Type#REFUSED} event whose identity is not known. */
    public Identity identity() {
        return identity;
    }

    /** The peer's address as {@code ip:port}, or null if no message from it carried one. */
    public String address() {
        return address;
    }

    /**
     * For {@link Type#TOOK_OVER}, {@link Type#CONFLICT} and an EVICTED with reason CONFLICT: the
     * address of the connection the identity had before the latest takeover.
     */
    public String previousAddress() {
        return previousAddress;
    }

    /**
     * The session concerned: for the SESSION_ events always, for the others the identity's session at the time
     * (null if it had none yet).
     */
    public Session session() {
        return session;
    }

    /** For {@link Type#EVICTED}, {@link Type#LEFT} and {@link Type#SESSION_ENDED}: why; null otherwise. */
    public EvictReason reason() {
        return reason;
    }

    public Instant time() {
        return time;
    }

    /**
     * True if the router's own stall (see {@link Stall}) caused it, or it happened within one interval of the end of
     * one. A connection lost then is taken for the stall's doing (the peer, or ZMTP's heartbeat, gave up on a router
     * that did not run): the peer is kept, detached, and its return on a new connection is a TOOK_OVER marked so; one
     * that does not return within interval x liveness is EVICTED with reason TRANSPORT_LOST, also marked so.
     */
    public boolean duringStall() {
        return duringStall;
    }

    @Override
    public String toString() {
        return type + " " + (session != null ? session.toString() : String.valueOf(identity)) + " @" + address
                + (refusal != null ? " refusal=" + refusal : "")
                + (previousAddress != null ? " (was " + previousAddress + ")" : "")
                + (reason != null ? " reason=" + reason : "") + (duringStall ? " (during a stall of the router)" : "");
    }
}
