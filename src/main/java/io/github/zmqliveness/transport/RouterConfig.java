package io.github.zmqliveness.transport;

import io.github.zmqliveness.MessageHandler;
import io.github.zmqliveness.PeerListener;

import io.github.zmqliveness.KeyAuthorizer;

import java.time.Duration;
import java.util.List;

/** The settings a {@code LivenessRouter.Builder} produced, validated. Immutable. */
public final class RouterConfig {
    public final List<String> endpoints;
    public final Duration heartbeatInterval;
    public final int liveness;
    public final boolean transportHeartbeat;
    public final Duration transportHeartbeatInterval;
    public final Duration transportHeartbeatTimeout;
    public final Duration handshakeInterval;
    public final boolean tcpKeepAlive;
    public final Duration tcpKeepAliveIdle;
    public final int maxMessageSize;
    public final int maxQueuedMessages;
    public final long maxQueuedBytes;
    public final Duration messageTtl;
    public final int sendHighWaterMark;
    public final int maxConnections;
    public final int acceptBacklog;
    public final int ioThreads;
    public final int conflictThreshold;
    public final Duration conflictWindow;
    public final Duration quarantine;
    public final int receiveQueueCapacity;
    public final Duration closeTimeout;
    public final Duration resumeWindow;
    public final double maxJoinsPerSecond;
    /** Accept peers that speak ZMTP 1.0 or 2.0 (and bytes that only look like it); refused in the handshake if false. */
    public final boolean acceptLegacyZmtp;
    public final PeerListener listener;
    public final MessageHandler handler;
    /** Open connections allowed from one host (IP address); 0 for no limit. */
    public final int maxConnectionsPerHost;
    /** Open connections allowed that have not sent a message yet; 0 for no limit. */
    public final int maxUnheardConnections;
    /** The router's CurveZMQ secret key, or null for no CURVE (the NULL mechanism). */
    public final byte[] curveSecretKey;
    /** With {@link #curveSecretKey}: which identities each client key may use. */
    public final KeyAuthorizer authorizer;

    /** No loop thread: the application drives the loop with doWork() (see LivenessRouter.Builder#callerDriven). */
    public final boolean callerDriven;

    @SuppressWarnings("checkstyle:ParameterNumber")
    public RouterConfig(List<String> endpoints, Duration heartbeatInterval, int liveness, boolean transportHeartbeat,
                        Duration transportHeartbeatInterval, Duration transportHeartbeatTimeout, Duration handshakeInterval,
                        boolean tcpKeepAlive, Duration tcpKeepAliveIdle, int maxMessageSize, int maxQueuedMessages,
                        long maxQueuedBytes, Duration messageTtl, int sendHighWaterMark, int maxConnections, int acceptBacklog, int ioThreads,
                        int conflictThreshold, Duration conflictWindow, Duration quarantine, int receiveQueueCapacity,
                        Duration closeTimeout, Duration resumeWindow, double maxJoinsPerSecond, boolean acceptLegacyZmtp,
                        PeerListener listener, MessageHandler handler, byte[] curveSecretKey, KeyAuthorizer authorizer,
                        int maxConnectionsPerHost, int maxUnheardConnections, boolean callerDriven) {
        this.callerDriven = callerDriven;
        this.maxConnectionsPerHost = maxConnectionsPerHost;
        this.maxUnheardConnections = maxUnheardConnections;
        this.curveSecretKey = curveSecretKey == null ? null : curveSecretKey.clone();
        this.authorizer = authorizer;
        this.endpoints = List.copyOf(endpoints);
        this.heartbeatInterval = heartbeatInterval;
        this.liveness = liveness;
        this.transportHeartbeat = transportHeartbeat;
        this.transportHeartbeatInterval = transportHeartbeatInterval;
        this.transportHeartbeatTimeout = transportHeartbeatTimeout;
        this.handshakeInterval = handshakeInterval;
        this.tcpKeepAlive = tcpKeepAlive;
        this.tcpKeepAliveIdle = tcpKeepAliveIdle;
        this.maxMessageSize = maxMessageSize;
        this.maxQueuedMessages = maxQueuedMessages;
        this.maxQueuedBytes = maxQueuedBytes;
        this.messageTtl = messageTtl;
        this.sendHighWaterMark = sendHighWaterMark;
        this.maxConnections = maxConnections;
        this.acceptBacklog = acceptBacklog;
        this.ioThreads = ioThreads;
        this.conflictThreshold = conflictThreshold;
        this.conflictWindow = conflictWindow;
        this.quarantine = quarantine;
        this.receiveQueueCapacity = receiveQueueCapacity;
        this.closeTimeout = closeTimeout;
        this.resumeWindow = resumeWindow;
        this.maxJoinsPerSecond = maxJoinsPerSecond;
        this.acceptLegacyZmtp = acceptLegacyZmtp;
        this.listener = listener;
        this.handler = handler;
    }

    /** True if connections are served under the identity their CurveZMQ key is authorized for (see Authenticator). */
    public boolean bindsIdentities() {
        return curveSecretKey != null;
    }
}
