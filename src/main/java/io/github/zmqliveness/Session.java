package io.github.zmqliveness;

import java.util.Objects;

/**
 * One life of a client under its identity: who ({@link #identity()}), which process
 * ({@link #instanceId()}, for clients that speak the protocol) and which join ({@link #number()}).
 * Identity says who a peer is; the session says which of its lives a message belongs to.
 *
 * <p>A protocol client ({@link DealerClient}, or any client following docs/PROTOCOL.md) gets a
 * session when it says HELLO; it keeps it when it reconnects and resumes (same process, within the
 * resume window), and gets a new one when it restarts or starts clean. A plain DEALER gets a new
 * session with every connection.
 *
 * <p>Every {@link Message} a router receives names the session that sent it, and
 * {@link LivenessRouter#send(Session, byte[]...)} (or {@link LivenessRouter#reply}) delivers to
 * that session only: once it has ended or been replaced, the send returns
 * {@link SendResult#STALE_SESSION} and the message reaches nobody.
 *
 * <p>Immutable. Two sessions are equal when they have the same identity and number; numbers are
 * unique within one router for its lifetime.
 */
public final class Session {
    private final Identity identity;
    private final long number;
    private final byte[] instance;

    /**
     * @param instance the 16-byte instance id of a protocol client, or null for a plain DEALER
     *                 (not copied: the router never modifies it)
     */
    public Session(Identity identity, long number, byte[] instance) {
        this.identity = Objects.requireNonNull(identity, "identity");
        if (number <= 0) {
            throw new IllegalArgumentException("session numbers are positive, got " + number);
        }
        this.number = number;
        this.instance = instance;
    }

    public Identity identity() {
        return identity;
    }

    /** The router's number for this session, unique within the router's lifetime; the one WELCOME carries. */
    public long number() {
        return number;
    }

    /** True for a client that speaks the protocol (said HELLO); false for a plain DEALER's connection. */
    public boolean speaksProtocol() {
        return instance != null;
    }

    /** The client process's instance id as 32 hex digits, or null for a plain DEALER. */
    public String instanceId() {
        if (instance == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(32);
        for (byte x : instance) {
            b.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return b.toString();
    }

    /** True if {@code other} is the same client process (same instance id); false for plain DEALERs. */
    public boolean sameInstanceAs(Session other) {
        return other != null && instance != null && other.instance != null && java.util.Arrays.equals(instance, other.instance);
    }

    /** True if this is a protocol client's session whose instance id is {@code instanceId}. */
    public boolean hasInstance(byte[] instanceId) {
        return instance != null && instanceId != null && java.util.Arrays.equals(instance, instanceId);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Session)) {
            return false;
        }
        Session s = (Session) o;
        return number == s.number && identity.equals(s.identity);
    }

    @Override
    public int hashCode() {
        return identity.hashCode() * 31 + Long.hashCode(number);
    }

    @Override
    public String toString() {
        return identity + "#" + number + (instance != null ? " (instance " + instanceId().substring(0, 8) + ")" : " (plain)");
    }
}
