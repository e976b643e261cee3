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
    private final long session;
    private final int queuedMessages;
    private final long queuedBytes;

    public PeerSnapshot(Identity identity, PeerState state, String address, Instant connectedSince, Instant lastHeard,
                        int takeovers, boolean heartbeating, long session, int queuedMessages, long queuedBytes) {
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

    /** The session number the router gave this peer's current join (0 for peers without the protocol). */
    public long session() {
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
        return identity + " " + state + " @" + address + " heard=" + lastHeard + " takeovers=" + takeovers
                + " queued=" + queuedMessages;
    }
}
