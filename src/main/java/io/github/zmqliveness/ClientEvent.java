package io.github.zmqliveness;

import java.time.Duration;
import java.time.Instant;

/** Something that happened to a {@link DealerClient}'s session. Immutable. */
public final class ClientEvent {
    /** The kinds of client event. */
    public enum Type {
        /** The first session with a server began (WELCOME received). */
        CONNECTED,
        /** A later session began, after a disconnect; {@link #resumed()} says whether parked messages follow. */
        REJOINED,
        /** The session ended; {@link #cause()} says why. The client reconnects after a backoff. */
        DISCONNECTED,
        /** The server told the client to go; {@link #reason()} and {@link #retryAfter()} say why and when to return. */
        TOLD_TO_LEAVE,
        /** The client gave up for a reason retrying cannot fix (its identity is in use elsewhere); it sends nothing more. */
        STOPPED
    }

    /** Why a session ended. */
    public enum Cause {
        /** Nothing was heard from the server for heartbeat interval x liveness: it is dead, frozen or unreachable. */
        SERVER_SILENT,
        /** The TCP connection closed (the server closed it, or ZeroMQ's heartbeat found it dead). */
        CONNECTION_LOST,
        /** The TCP connect failed (refused, unreachable). */
        CONNECT_FAILED,
        /** No WELCOME came in time after connecting. */
        NO_WELCOME,
        /** The server sent DISCONNECT. */
        SERVER_DISCONNECT
    }

    /** What the server gave as its reason to disconnect. */
    public enum Reason {
        EVICTED, CONFLICT, SHUTTING_DOWN, TRY_LATER, PROTOCOL_ERROR
    }

    private final Type type;
    private final String endpoint;
    private final long session;
    private final boolean resumed;
    private final Cause cause;
    private final Reason reason;
    private final Duration retryAfter;
    private final Instant time;

    public ClientEvent(Type type, String endpoint, long session, boolean resumed, Cause cause, Reason reason,
                       Duration retryAfter, Instant time) {
        this.type = type;
        this.endpoint = endpoint;
        this.session = session;
        this.resumed = resumed;
        this.cause = cause;
        this.reason = reason;
        this.retryAfter = retryAfter;
        this.time = time;
    }

    public Type type() {
        return type;
    }

    /** The server endpoint concerned. */
    public String endpoint() {
        return endpoint;
    }

    /** For CONNECTED and REJOINED: the session number the server gave. */
    public long session() {
        return session;
    }

    /** For REJOINED: the server resumed the previous session. */
    public boolean resumed() {
        return resumed;
    }

    /** For DISCONNECTED: why; null otherwise. */
    public Cause cause() {
        return cause;
    }

    /** For TOLD_TO_LEAVE and STOPPED: the server's reason; null otherwise. */
    public Reason reason() {
        return reason;
    }

    /** For TOLD_TO_LEAVE: how long the server asked the client to stay away. */
    public Duration retryAfter() {
        return retryAfter;
    }

    public Instant time() {
        return time;
    }

    @Override
    public String toString() {
        return type + " " + endpoint + (session != 0 ? " session=" + session : "") + (resumed ? " resumed" : "")
                + (cause != null ? " cause=" + cause : "") + (reason != null ? " reason=" + reason : "")
                + (retryAfter != null ? " retryAfter=" + retryAfter : "");
    }
}
