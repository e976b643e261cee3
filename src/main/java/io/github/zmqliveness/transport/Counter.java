package io.github.zmqliveness.transport;

/** The router's counters; {@code RouterStats} names them by {@link #key}. */
public enum Counter {
    JOINS("joins"),
    TAKEOVERS("takeovers"),
    CONFLICTS("conflicts"),
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
    CONNECTIONS_REFUSED("connectionsRefused"),
    MESSAGES_RECEIVED("messagesReceived"),
    MESSAGES_DELIVERED("messagesDelivered"),
    HEARTBEATS_RECEIVED("heartbeatsReceived"),
    HELLOS_RECEIVED("hellosReceived"),
    MESSAGES_ACCEPTED("messagesAccepted"),
    MESSAGES_SENT("messagesSent"),
    DROPPED_QUEUE_FULL("droppedQueueFull"),
    DROPPED_TOO_LARGE("droppedTooLarge"),
    DROPPED_EXPIRED("droppedExpired"),
    DROPPED_PEER_GONE("droppedPeerGone"),
    DROPPED_UNKNOWN_PEER("droppedUnknownPeer"),
    DROPPED_QUARANTINED("droppedQuarantined"),
    DROPPED_STALE_SESSION("droppedStaleSession"),
    DROPPED_RESUME_EXPIRED("droppedResumeExpired"),
    DROPPED_CONFLICT("droppedConflict"),
    DROPPED_ON_CLOSE("droppedOnClose"),
    REFUSED_STALE_SESSION("refusedStaleSession"),
    COMMANDS_RECEIVED("commandsReceived"),
    SESSIONS_STARTED("sessionsStarted"),
    SESSIONS_ENDED("sessionsEnded"),
    RECEIVED_TOO_LARGE("receivedTooLarge"),
    RECEIVED_MALFORMED("receivedMalformed"),
    RECEIVED_AFTER_EVICTION("receivedAfterEviction"),
    RECEIVED_QUARANTINED("receivedQuarantined"),
    RECEIVED_ANONYMOUS("receivedAnonymous"),
    HANDOVER_LEFTOVERS("handoverLeftovers"),
    HANDLER_ERRORS("handlerErrors"),
    LISTENER_ERRORS("listenerErrors"),
    LOOP_ERRORS("loopErrors");

    public final String key;

    Counter(String key) {
        this.key = key;
    }
}
