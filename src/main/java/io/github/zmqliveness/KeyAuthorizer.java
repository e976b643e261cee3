package io.github.zmqliveness;

import java.util.List;

/**
 * Which routing ids a CurveZMQ client key may use, for a router that binds identities to keys
 * ({@link LivenessRouter.Builder#curve(String, KeyAuthorizer)}). A key with no identity is refused in the handshake.
 * A connection is served under its key's first identity, or under another of its key's identities that a
 * {@link DealerClient} names in its HELLO, whatever routing id it claims: the routing id is not trusted.
 *
 * <p>{@link AuthorizedKeys} reads them from a file; implement this interface for keys kept in your own store.
 *
 * <p>Thread-safety: called on the router's authentication thread, one handshake at a time; a slow answer delays every
 * handshake after it (not the connections already served). It must not block for long: cache what you look up.
 * Exceptions are caught, counted and logged (rate limited), and refuse the key.
 */
@FunctionalInterface
public interface KeyAuthorizer {
    /**
     * The identities that a client with this public key may use, the one a plain peer is served under first; empty
     * if the key is not allowed at all (its handshake is refused).
     *
     * @param publicKey the client's 32-byte public key, proven in the handshake (a copy the method may keep)
     */
    List<Identity> identities(byte[] publicKey);
}
