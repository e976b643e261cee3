package io.github.zmqliveness.transport;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Session;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/** One accepted TCP connection, as the loop knows it. Loop thread only. */
final class Conn {
    final SocketChannel channel;
    /** Which connection this is, as messages name it: the peer's and the router's {@code ip:port} (see {@link Connections#key}). */
    final String key;
    /** The identity last heard on this connection, null until its first message. */
    Identity identity;
    /** CURVE: what its handshake was granted (routing id, key, identity), once its first message was read; else null. */
    Authenticator.Grant grant;
    /** A message of it was read (see Connections#heard). */
    boolean heard;
    /** The peer's host, counted against the per-host limit; null without one. */
    String host;
    /** The session this connection carries, null until its first message. */
    Session session;
    /** Shut because its identity moved to a newer connection (a zombie): what it still delivers is its old session's. */
    boolean replaced;
    /** Shut down by us (eviction, takeover, quarantine); messages still arriving on it are refused. */
    boolean shutting;
    /** When the shutdown was asked for (for the confirmation watchdog). */
    long shutdownAt;
    /** The shutdown is an eviction whose confirmation (DISCONNECTED) we count. */
    boolean eviction;

    /** The peer's {@code ip:port} (from the key, worked out once: every message delivered carries it). */
    private final String address;

    Conn(SocketChannel channel, String key) {
        this.channel = channel;
        this.key = key;
        this.address = Connections.peerOf(key);
    }

    /** The peer's {@code ip:port}, or null if unknown. */
    String address() {
        return address;
    }

    /**
     * Half-closes the connection's input: JeroMQ's engine reads EOF on its own I/O thread and tears
     * down the session, the pipe and the file descriptor, and raises DISCONNECTED. Never
     * {@code close()} JeroMQ's channel: that skips the teardown and leaks the session.
     */
    boolean shutdownInput() {
        try {
            channel.shutdownInput();
            return true;
        } catch (IOException e) {
            return false; // already closed by the engine: nothing left to release
        }
    }

    @Override
    public String toString() {
        return address() + (identity != null ? " (" + identity + ")" : "");
    }
}
