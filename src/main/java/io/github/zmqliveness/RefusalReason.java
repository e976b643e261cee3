package io.github.zmqliveness;

/** Why the router turned a connection away ({@link PeerEvent.Type#REFUSED}). */
public enum RefusalReason {
    /** Its CurveZMQ key is not in the router's {@link KeyAuthorizer}: refused in the handshake. */
    UNKNOWN_KEY,
    /**
     * Its key is not (or no longer) authorized for the identity it would be served under: a key revoked while it was
     * connected, or a connection whose routing id is not the one the router gave it in the handshake.
     */
    IDENTITY_NOT_AUTHORIZED,
    /** It spoke ZMTP 1.0 or 2.0, or bytes that only look like a greeting. */
    LEGACY_PROTOCOL,
    /** Its handshake failed (wrong mechanism, bad CurveZMQ boxes, a timeout). */
    HANDSHAKE_FAILED,
    /** A limit the operator set was reached. */
    LIMIT
}
