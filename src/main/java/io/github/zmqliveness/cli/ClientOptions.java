package io.github.zmqliveness.cli;

import io.github.zmqliveness.Identity;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The options of the {@code client} command. Immutable once parsed. */
final class ClientOptions {
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(1);
    static final int DEFAULT_LIVENESS = 3;
    /**
     * Each client costs about five threads (its loop, its events, its ZeroMQ I/O and reaper threads,
     * and the receiving thread) and 2.5 MB: enough for a load test on one machine, not a way to exhaust it.
     */
    static final int MAX_COUNT = 250;

    final List<String> endpoints;
    /** The identities of the clients: {@code host-a} alone, or {@code host-a-0} .. {@code host-a-(n-1)}. */
    final List<String> identities;
    final Duration interval;
    final Duration heartbeat;
    final int liveness;
    final boolean resume;
    final boolean stopOnConflict;
    final boolean help;
    /** CURVE: the server's public key and this client's key pair (Z85); all null without CURVE. */
    final String curveServerKey;
    final String curvePublic;
    final String curveSecret;

    private ClientOptions(List<String> endpoints, List<String> identities, Duration interval, Duration heartbeat, int liveness,
                          boolean resume, boolean stopOnConflict, boolean help, String curveServerKey, String curvePublic,
                          String curveSecret) {
        this.curveServerKey = curveServerKey;
        this.curvePublic = curvePublic;
        this.curveSecret = curveSecret;
        this.endpoints = Collections.unmodifiableList(endpoints);
        this.identities = Collections.unmodifiableList(identities);
        this.interval = interval;
        this.heartbeat = heartbeat;
        this.liveness = liveness;
        this.resume = resume;
        this.stopOnConflict = stopOnConflict;
        this.help = help;
    }

    static ClientOptions parse(List<String> args) throws UsageException {
        List<String> endpoints = new ArrayList<>();
        String identity = null;
        int count = 1;
        Duration interval = DEFAULT_INTERVAL;
        Duration heartbeat = DEFAULT_HEARTBEAT;
        int liveness = DEFAULT_LIVENESS;
        boolean resume = true;
        boolean stopOnConflict = false;
        String curveServerKey = null;
        String curvePublic = null;
        String curveSecret = null;
        OptionReader options = new OptionReader("client", args);
        while (options.advance()) {
            switch (options.name()) {
                case "--connect":
                    endpoints.add(options.endpointValue());
                    break;
                case "--identity":
                    identity = options.value();
                    break;
                case "--count":
                    count = options.intValue(1, MAX_COUNT, "clients");
                    break;
                case "--interval":
                    interval = options.durationValue(Duration.ofMillis(1));
                    break;
                case "--heartbeat":
                    heartbeat = options.heartbeatValue();
                    break;
                case "--liveness":
                    liveness = options.livenessValue();
                    break;
                case "--no-resume":
                    options.noValue();
                    resume = false;
                    break;
                case "--stop-on-conflict":
                    options.noValue();
                    stopOnConflict = true;
                    break;
                case "--curve-server-key":
                    curveServerKey = options.keyValue();
                    break;
                case "--curve-public":
                    curvePublic = options.keyValue();
                    break;
                case "--curve-secret":
                    curveSecret = options.keyValue();
                    break;
                case "-h":
                case "--help":
                    return new ClientOptions(endpoints, List.of(), interval, heartbeat, liveness, resume, stopOnConflict, true, null, null,
                            null);
                default:
                    throw options.unknown();
            }
        }
        if (endpoints.isEmpty()) {
            throw new UsageException("client: --connect is required, for example --connect tcp://127.0.0.1:5555");
        }
        if (identity == null) {
            throw new UsageException("client: --identity is required, for example --identity host-a");
        }
        int curveGiven = (curveServerKey != null ? 1 : 0) + (curvePublic != null ? 1 : 0) + (curveSecret != null ? 1 : 0);
        if (curveGiven != 0 && curveGiven != 3) {
            throw new UsageException("client: CURVE needs all three of --curve-server-key, --curve-public and --curve-secret");
        }
        return new ClientOptions(endpoints, identities(identity, count), interval, heartbeat, liveness, resume, stopOnConflict,
                false, curveServerKey, curvePublic, curveSecret);
    }

    private static List<String> identities(String base, int count) throws UsageException {
        List<String> ids = new ArrayList<>(count);
        if (count == 1) {
            ids.add(base);
        } else {
            for (int i = 0; i < count; i++) {
                ids.add(base + "-" + i);
            }
        }
        for (String id : ids) {
            try {
                Identity.of(id);
            } catch (IllegalArgumentException e) {
                throw new UsageException("client: --identity '" + id + "': " + e.getMessage());
            }
        }
        return ids;
    }
}
