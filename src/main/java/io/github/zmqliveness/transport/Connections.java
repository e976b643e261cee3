package io.github.zmqliveness.transport;

import org.slf4j.Logger;

import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The accepted TCP connections, by channel (as JeroMQ's monitor events name them) and by key (as
 * the metadata of messages names them: the peer's {@code ip:port} and the router's own, so two
 * clients with the same remote {@code ip:port} on two bound endpoints are two connections), and the
 * shutdowns in progress: asked for now or after a grace period, and confirmed by the channel's
 * DISCONNECTED event. A DISCONNECTED names its channel, so a late one for a connection whose
 * key the kernel has since reused for a new connection closes only the old one. Loop thread only.
 */
final class Connections {
    private final Map<String, Conn> byAddress = new HashMap<>();
    private final Map<SelectableChannel, Conn> byChannel = new IdentityHashMap<>();
    private final ArrayDeque<Conn> awaitingConfirmation = new ArrayDeque<>();
    /** (connection, when) pairs, in the order asked, which is the order they are due (same grace for all). */
    private final ArrayDeque<Object[]> delayed = new ArrayDeque<>();
    private final Counters.Owner counters;
    private final RateLimitedLog rateLimited;
    private final Logger log;
    private final int max;
    private final int maxPerHost;
    private final int maxUnheard;
    private final long confirmTimeoutNanos;
    /** Open connections per peer host (only with a per-host limit). */
    private final Map<String, Integer> perHost = new HashMap<>();
    /** Open connections not yet heard from (in their handshake, or silent). */
    private int unheard;

    /** {@code maxPerHost}, {@code maxUnheard}: 0 for no limit. */
    Connections(Counters.Owner counters, RateLimitedLog rateLimited, Logger log, int max, int maxPerHost, int maxUnheard,
            long confirmTimeoutNanos) {
        this.counters = counters;
        this.rateLimited = rateLimited;
        this.log = log;
        this.max = max;
        this.maxPerHost = maxPerHost;
        this.maxUnheard = maxUnheard;
        this.confirmTimeoutNanos = confirmTimeoutNanos;
    }

    /** The host part of a connection key ({@code ip} of {@code ip:port/...}), or null. */
    static String hostOf(String key) {
        String peer = peerOf(key);
        if (peer == null) {
            return null;
        }
        int colon = peer.lastIndexOf(':');
        return colon < 0 ? peer : peer.substring(0, colon);
    }

    /** The first message of a connection was read: it is no longer counted as unheard. */
    void heard(Conn conn) {
        if (!conn.heard) {
            conn.heard = true;
            unheard--;
        }
    }

    /** The key of the connection between {@code peer} and {@code self} (either may be null: then what is known). */
    static String key(String peer, String self) {
        if (peer == null) {
            return null;
        }
        return self == null ? peer : peer + "/" + self;
    }

    /** The peer's {@code ip:port} in a connection key. */
    static String peerOf(String key) {
        if (key == null) {
            return null;
        }
        int slash = key.indexOf('/');
        return slash < 0 ? key : key.substring(0, slash);
    }

    /**
     * An ACCEPTED event. Beyond a limit (connections, connections from one host, connections not yet heard from) the
     * connection is shut at once and counted.
     *
     * @return true if a limit refused it
     */
    boolean accepted(SocketChannel channel, String key, long now) {
        counters.inc(Counter.CONNECTIONS_ACCEPTED);
        Conn conn = new Conn(channel, key);
        if (log.isDebugEnabled()) {
            log.debug("connection accepted: {}", key);
        }
        byChannel.put(channel, conn);
        unheard++;
        String host = hostOf(key);
        int fromHost = 0;
        if (maxPerHost > 0 && host != null) {
            conn.host = host;
            fromHost = perHost.merge(host, 1, Integer::sum);
        }
        boolean refused = true;
        if (byChannel.size() > max) {
            rateLimited.warn("connections", now, "refused a connection from {}: {} connections are open, the limit is {} "
                    + "(raise maxConnections if this is expected load)", conn.address(), byChannel.size() - 1, max);
        } else if (maxPerHost > 0 && fromHost > maxPerHost) {
            counters.inc(Counter.CONNECTIONS_REFUSED_PER_HOST);
            rateLimited.warn("connections-per-host", now, "refused a connection from {}: {} connections from {} are open, the "
                    + "limit is {} (maxConnectionsPerHost)", conn.address(), fromHost - 1, host, maxPerHost);
        } else if (maxUnheard > 0 && unheard > maxUnheard) {
            counters.inc(Counter.CONNECTIONS_REFUSED_UNHEARD);
            rateLimited.warn("connections-unheard", now, "refused a connection from {}: {} connections have not sent a message "
                    + "yet (in their handshake, or silent), the limit is {} (maxUnheardConnections)", conn.address(), unheard - 1,
                    maxUnheard);
        } else {
            refused = false;
        }
        if (refused) {
            counters.inc(Counter.CONNECTIONS_REFUSED);
            conn.shutting = true;
            conn.shutdownInput();
            return true;
        }
        if (key != null) {
            byAddress.put(key, conn);
        }
        return false;
    }

    /**
     * A DISCONNECTED event: forgets the connection and returns it, or null if it was unknown.
     * A shutdown of ours is confirmed by it.
     */
    Conn closed(SocketChannel channel) {
        Conn conn = byChannel.remove(channel);
        if (conn == null) {
            return null;
        }
        counters.inc(Counter.CONNECTIONS_CLOSED);
        if (!conn.heard) {
            conn.heard = true;
            unheard--;
        }
        if (conn.host != null) {
            perHost.computeIfPresent(conn.host, (h, n) -> n == 1 ? null : n - 1);
        }
        if (log.isDebugEnabled()) {
            log.debug("connection closed: {}{}", conn.key, conn.shutting ? " (shut by the router)" : "");
        }
        if (conn.key != null) {
            byAddress.remove(conn.key, conn);
        }
        if (conn.shutting) {
            if (conn.eviction) {
                counters.inc(Counter.EVICTIONS_CONFIRMED);
            }
            awaitingConfirmation.remove(conn);
        } else if (conn.identity == null) {
            counters.inc(Counter.CLOSED_BEFORE_FIRST_MESSAGE);
            rateLimited.warn("unidentified", System.nanoTime(), "connection from {} closed before it sent a message: it did not "
                    + "complete a ZMTP 3 handshake (random bytes, a ZMTP 1.0 or 2.0 peer, refused unless acceptLegacyZmtp is "
                    + "set, or too slow for handshakeInterval), or its client gave up or only probed the port", conn.address());
        }
        return conn;
    }

    /** The open connection with this {@link #key}, or null. */
    Conn at(String key) {
        return key == null ? null : byAddress.get(key);
    }

    int size() {
        return byChannel.size();
    }

    /** The open connections (a copy). */
    List<Conn> all() {
        return new ArrayList<>(byChannel.values());
    }

    /** Half-closes the connection's input now; DISCONNECTED confirms it, or a warning says it did not come. */
    void shutdown(Conn conn, long now) {
        if (log.isDebugEnabled()) {
            log.debug("shutting connection {}", conn.key);
        }
        conn.shutting = true;
        conn.shutdownAt = now;
        if (conn.shutdownInput()) {
            awaitingConfirmation.add(conn);
        } else if (conn.eviction) {
            counters.inc(Counter.EVICTIONS_CONFIRMED); // already closed by the engine
        }
    }

    /** Refuses the connection's messages from now on, and shuts it at {@code at} (after a goodbye has gone out). */
    void shutdownAt(Conn conn, long at) {
        if (conn == null || conn.shutting) {
            return;
        }
        conn.shutting = true;
        delayed.add(new Object[] {conn, at});
    }

    /** Runs due shutdowns and reports shutdowns that were never confirmed. */
    void tick(long now) {
        while (!delayed.isEmpty() && (long) delayed.peekFirst()[1] <= now) {
            Conn conn = (Conn) delayed.pollFirst()[0];
            if (byChannel.get(conn.channel) == conn) {
                shutdown(conn, now);
            }
        }
        while (!awaitingConfirmation.isEmpty() && now - awaitingConfirmation.peekFirst().shutdownAt > confirmTimeoutNanos) {
            Conn conn = awaitingConfirmation.pollFirst();
            if (byChannel.get(conn.channel) != conn) {
                continue;
            }
            if (conn.eviction) {
                counters.inc(Counter.EVICTIONS_UNCONFIRMED);
            }
            log.warn("connection {} was shut down {} ms ago and is still open: its engine may have stopped reading; "
                    + "the transport heartbeat will close it", conn, TimeUnit.NANOSECONDS.toMillis(now - conn.shutdownAt));
        }
    }

    /** When {@link #tick} next has work, or {@code Long.MAX_VALUE}. */
    long nextDeadline() {
        long next = Long.MAX_VALUE;
        if (!delayed.isEmpty()) {
            next = (long) delayed.peekFirst()[1];
        }
        if (!awaitingConfirmation.isEmpty()) {
            next = Math.min(next, awaitingConfirmation.peekFirst().shutdownAt + confirmTimeoutNanos);
        }
        return next;
    }
}
