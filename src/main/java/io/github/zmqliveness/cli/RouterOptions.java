package io.github.zmqliveness.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The options of the {@code router} command. Immutable once parsed. */
final class RouterOptions {
    static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(1);
    static final int DEFAULT_LIVENESS = 3;

    final List<String> endpoints;
    final Duration heartbeat;
    final int liveness;
    final boolean echo;
    final boolean help;
    /** CURVE: the router's secret key (Z85) and the authorized keys file; both null without CURVE. */
    final String curveSecret;
    final String authorizedKeys;

    private RouterOptions(List<String> endpoints, Duration heartbeat, int liveness, boolean echo, boolean help, String curveSecret,
                          String authorizedKeys) {
        this.curveSecret = curveSecret;
        this.authorizedKeys = authorizedKeys;
        this.endpoints = Collections.unmodifiableList(endpoints);
        this.heartbeat = heartbeat;
        this.liveness = liveness;
        this.echo = echo;
        this.help = help;
    }

    static RouterOptions parse(List<String> args) throws UsageException {
        List<String> endpoints = new ArrayList<>();
        Duration heartbeat = DEFAULT_HEARTBEAT;
        int liveness = DEFAULT_LIVENESS;
        boolean echo = false;
        String curveSecret = null;
        String authorizedKeys = null;
        OptionReader options = new OptionReader("router", args);
        while (options.advance()) {
            switch (options.name()) {
                case "--bind":
                    endpoints.add(options.endpointValue());
                    break;
                case "--heartbeat":
                    heartbeat = options.heartbeatValue();
                    break;
                case "--liveness":
                    liveness = options.livenessValue();
                    break;
                case "--echo":
                    options.noValue();
                    echo = true;
                    break;
                case "--curve-secret":
                    curveSecret = options.keyValue();
                    break;
                case "--authorized-keys":
                    authorizedKeys = options.value();
                    break;
                case "-h":
                case "--help":
                    return new RouterOptions(endpoints, heartbeat, liveness, echo, true, null, null);
                default:
                    throw options.unknown();
            }
        }
        if (endpoints.isEmpty()) {
            throw new UsageException("router: --bind is required, for example --bind tcp://127.0.0.1:5555");
        }
        if ((curveSecret == null) != (authorizedKeys == null)) {
            throw new UsageException("router: --curve-secret and --authorized-keys go together (CURVE binds each client key "
                    + "to the identities the file lists)");
        }
        return new RouterOptions(endpoints, heartbeat, liveness, echo, false, curveSecret, authorizedKeys);
    }
}
