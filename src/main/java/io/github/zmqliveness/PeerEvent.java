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
        LEFT
    }

    private final Type type;
    private final Identity identity;
    private final String address;
    private final String previousAddress;
    private final EvictReason reason;
    private final Instant time;

    public PeerEvent(Type type, Identity identity, String address, String previousAddress, EvictReason reason, Instant time) {
        this.type = Objects.requireNonNull(type);
        this.identity = Objects.requireNonNull(identity);
        this.address = address;
        this.previousAddress = previousAddress;
        this.reason = reason;
        this.time = Objects.requireNonNull(time);
    }

    public Type type() {
        return type;
    }

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

    /** For {@link Type#EVICTED} and {@link Type#LEFT}: why; null otherwise. */
    public EvictReason reason() {
        return reason;
    }

    public Instant time() {
        return time;
    }

    @Override
    public String toString() {
        return type + " " + identity + " @" + address
                + (previousAddress != null ? " (was " + previousAddress + ")" : "")
                + (reason != null ? " reason=" + reason : "");
    }
}
