package io.github.zmqliveness;

import java.time.Instant;

/** One row of the peer table, copied at one moment. Immutable. */
public final class PeerSnapshot {
    private final Identity identity;
    private final PeerState state;
    private final String address;
    private final Instant connectedSince;
    private final Instant lastHeard;
    private final int takeovers;
    private final boolean heartbeating;
    private final Session session;
    private final int queuedMessages;
    private final long queuedBytes;

    public PeerSnapshot(Identity identity, PeerState state, String address, Instant connectedSince, Instant lastHeard,
                        int takeovers, boolean heartbeating, Session session, int queuedMessages, long queuedBytes) {
        this.identity = identity;
        this.state = state;
        this.address = address;
        this.connectedSince = connectedSince;
        this.lastHeard = lastHeard;
        this.takeovers = takeovers;
        this.heartbeating = heartbeating;
        this.session = session;
        this.queuedMessages = queuedMessages;
        this.queuedBytes = queuedBytes;
    }

    public Identity identity() {
        return identity;
    }

    public PeerState state() {
        return state;
    }

    /** {@code ip:port} of the connection currently holding the identity. */
    public String address() {
        return address;
    }

    /** When the current connection was first heard. */
    public Instant connectedSince() {
        return connectedSince;
    }

    /** When anything (message or heartbeat) was last received from the peer. */
    public Instant lastHeard() {
        return lastHeard;
    }

    /** How many times the identity moved to a new connection while in the table. */
    public int takeovers() {
        return takeovers;
    }

    /** True if the peer speaks the liveness protocol (sent HELLO) and so is held to heartbeat deadlines. */
    public boolean heartbeating() {
        return heartbeating;
    }

    /**
     * The session on this identity's connection now: its number and, for a protocol client, its instance (a plain
     * DEALER gets a new session with each connection). Null only in the instant between a connection and its
     * first message. {@link LivenessRouter#send(Session, byte[]...)} addresses exactly this session.
     */
    public Session session() {
        return session;
    }

    /** Messages accepted by {@link LivenessRouter#send} and not yet written to the connection. */
    public int queuedMessages() {
        return queuedMessages;
    }

    public long queuedBytes() {
        return queuedBytes;
    }

    @Override
    public String toString() {
        return identity + " " + state + " @" + address + " session=" + (session == null ? "-" : String.valueOf(session.number()))
                + " heard=" + lastHeard + " takeovers=" + takeovers + " queued=" + queuedMessages;
    }
}
