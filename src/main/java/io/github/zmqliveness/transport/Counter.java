package io.github.zmqliveness.transport;

/**
 * The counters of the router ({@code RouterStats}) and of the client ({@code DealerClient#counters()}), named by
 * {@link #key}. A counter that means the same on both sides is one constant used by both; each side's
 * {@link Counters} shows only its own.
 */
public enum Counter {
    JOINS("joins"),
    TAKEOVERS("takeovers"),
    CONFLICTS("conflicts"),
    /**
     * Claims of an identity that a live protocol client holds (or whose session is parked for one), refused (see
     * Membership#arrive): one received message each, neither delivered nor answered.
     */
    REFUSED_IDENTITY_IN_USE("refusedIdentityInUse"),
    EVICTIONS("evictions"),
    EVICTED_HEARTBEAT_TIMEOUT("evictedHeartbeatTimeout"),
    EVICTED_TRANSPORT_LOST("evictedTransportLost"),
    EVICTED_EXPLICIT("evictedExplicit"),
    EVICTED_CONFLICT("evictedConflict"),
    LEFT("left"),
    SESSIONS_PARKED("sessionsParked"),
    SESSIONS_RESUMED("sessionsResumed"),
    JOINS_DEFERRED("joinsDeferred"),
    SUSPECTS("suspects"),
    EVICTIONS_CONFIRMED("evictionsConfirmed"),
    EVICTIONS_UNCONFIRMED("evictionsUnconfirmed"),
    ZOMBIES_SHUT("zombiesShut"),
    CONNECTIONS_ACCEPTED("connectionsAccepted"),
    CONNECTIONS_CLOSED("connectionsClosed"),
    /** Connections shut as soon as accepted because a limit was reached (all limits; the two below say which). */
    CONNECTIONS_REFUSED("connectionsRefused"),
    /** Of those, refused for maxConnectionsPerHost. */
    CONNECTIONS_REFUSED_PER_HOST("connectionsRefusedPerHost"),
    /** Of those, refused for maxUnheardConnections. */
    CONNECTIONS_REFUSED_UNHEARD("connectionsRefusedUnheard"),
    /**
     * Connections that ended, not shut by the router, before it read any message from them: refused or failed
     * handshakes (garbage, legacy ZMTP), clients that gave up while waiting, port probes.
     */
    CLOSED_BEFORE_FIRST_MESSAGE("closedBeforeFirstMessage"),
    MESSAGES_RECEIVED("messagesReceived"),
    MESSAGES_DELIVERED("messagesDelivered"),
    HEARTBEATS_RECEIVED("heartbeatsReceived"),
    HELLOS_RECEIVED("hellosReceived"),
    MESSAGES_ACCEPTED("messagesAccepted"),
    MESSAGES_SENT("messagesSent", Side.BOTH),
    DROPPED_QUEUE_FULL("droppedQueueFull", Side.BOTH),
    DROPPED_TOO_LARGE("droppedTooLarge", Side.BOTH),
    DROPPED_EXPIRED("droppedExpired", Side.BOTH),
    DROPPED_PEER_GONE("droppedPeerGone"),
    DROPPED_UNKNOWN_PEER("droppedUnknownPeer"),
    DROPPED_QUARANTINED("droppedQuarantined"),
    DROPPED_STALE_SESSION("droppedStaleSession", Side.BOTH),
    DROPPED_RESUME_EXPIRED("droppedResumeExpired"),
    DROPPED_CONFLICT("droppedConflict"),
    DROPPED_ON_CLOSE("droppedOnClose", Side.BOTH),
    REFUSED_STALE_SESSION("refusedStaleSession"),
    COMMANDS_RECEIVED("commandsReceived", Side.BOTH),
    SESSIONS_STARTED("sessionsStarted"),
    SESSIONS_ENDED("sessionsEnded"),
    RECEIVED_TOO_LARGE("receivedTooLarge"),
    RECEIVED_MALFORMED("receivedMalformed", Side.BOTH),
    RECEIVED_AFTER_EVICTION("receivedAfterEviction"),
    RECEIVED_QUARANTINED("receivedQuarantined"),
    RECEIVED_ANONYMOUS("receivedAnonymous"),
    HANDOVER_LEFTOVERS("handoverLeftovers"),
    HANDLER_ERRORS("handlerErrors"),
    LISTENER_ERRORS("listenerErrors", Side.BOTH),
    /** Events not delivered because the listener was too far behind (see EventDispatcher). */
    EVENTS_DROPPED("eventsDropped", Side.BOTH),
    LOOP_ERRORS("loopErrors"),
    /** Times the loop (router's or client's) came back at least half an interval later than it asked; deadlines were held. */
    STALLS("stalls", Side.BOTH),
    /** Router: the total length of those stalls, in milliseconds. */
    STALLED_MILLIS("stalledMillis"),
    /**
     * Router: peers whose connection was lost right after a stall, kept (detached) to return instead of being evicted
     * at once; those that did not return in time are also in evictedTransportLost.
     */
    DETACHED_DURING_STALL("detachedDuringStall"),
    /** CURVE: handshakes whose key the authorizer allowed (one per connection that got that far). */
    KEYS_ACCEPTED("keysAccepted"),
    /** CURVE: handshakes refused because the authorizer knows no identity for the key. */
    REFUSED_UNKNOWN_KEY("refusedUnknownKey"),
    /**
     * CURVE: messages refused because their connection is not authorized for the identity it would be served under (a
     * key revoked while connected, or a routing id other than the one the handshake gave); the connection is shut.
     */
    REFUSED_NOT_AUTHORIZED("refusedNotAuthorized"),
    /** CURVE: the authorizer threw; the key was refused. */
    AUTHORIZER_ERRORS("authorizerErrors"),
    /** REFUSED events not published because more than 100 came within a second (they are counted above all the same). */
    REFUSED_EVENTS_SUPPRESSED("refusedEventsSuppressed"),

    // the client's own
    SESSIONS("sessions", Side.CLIENT),
    RECONNECTS("reconnects", Side.CLIENT),
    HEARTBEATS_SENT("heartbeatsSent", Side.CLIENT),
    /** Client: times a connection attempt waiting for WELCOME nudged JeroMQ's I/O thread (see ClientLoop#nudgeIoThread). */
    IO_NUDGES("ioNudges", Side.CLIENT),
    /** Client: application messages of its session handed to the application (or dropped for a full receive queue). */
    DELIVERED_TO_CLIENT("messagesReceived", Side.CLIENT),
    DROPPED_RECEIVE_QUEUE_FULL("droppedReceiveQueueFull", Side.CLIENT),
    RECEIVED_STALE("receivedStale", Side.CLIENT),
    /** Client: every message read from the connection, whatever became of it. */
    RECEIVED_TOTAL("receivedTotal", Side.CLIENT),
    SERVER_SILENT("serverSilent", Side.CLIENT),
    CONNECT_FAILED("connectFailed", Side.CLIENT),
    CONNECTION_LOST("connectionLost", Side.CLIENT),
    NO_WELCOME("noWelcome", Side.CLIENT),
    /** Client: CURVE handshakes the server refused (its authorizer does not know this client's key). */
    KEY_REFUSED("keyRefused", Side.CLIENT),
    TOLD_TO_LEAVE("toldToLeave", Side.CLIENT);

    /** Whose counter it is. */
    public enum Side { ROUTER, CLIENT, BOTH }

    public final String key;
    public final Side side;

    Counter(String key) {
        this(key, Side.ROUTER);
    }

    Counter(String key, Side side) {
        this.key = key;
        this.side = side;
    }

    /** True if {@code viewer}'s counters show this one. */
    boolean shownTo(Side viewer) {
        return side == viewer || side == Side.BOTH;
    }
}
