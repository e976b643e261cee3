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

    private RouterOptions(List<String> endpoints, Duration heartbeat, int liveness, boolean echo, boolean help) {
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
        OptionReader options = new OptionReader("router", args);
        while (options.advance()) {
            switch (options.name()) {
                case "--bind":
                    endpoints.add(endpoint(options.value()));
                    break;
                case "--heartbeat":
                    heartbeat = heartbeat(options.value());
                    break;
                case "--liveness":
                    liveness = liveness(options.value());
                    break;
                case "--echo":
                    options.noValue();
                    echo = true;
                    break;
                case "-h":
                case "--help":
                    return new RouterOptions(endpoints, heartbeat, liveness, echo, true);
                default:
                    throw options.unknown();
            }
        }
        if (endpoints.isEmpty()) {
            throw new UsageException("router: --bind is required, for example --bind tcp://127.0.0.1:5555");
        }
        return new RouterOptions(endpoints, heartbeat, liveness, echo, false);
    }

    private static String endpoint(String value) throws UsageException {
        if (!value.matches("[a-z]+://.+")) {
            throw new UsageException("router: --bind needs a ZeroMQ endpoint such as tcp://127.0.0.1:5555, got '" + value + "'");
        }
        return value;
    }

    private static Duration heartbeat(String value) throws UsageException {
        try {
            Duration d = Durations.parsePositive(value);
            // The transport timeout is half the interval and JeroMQ counts whole milliseconds.
            if (d.toMillis() < 2) {
                throw new IllegalArgumentException("heartbeat must be at least 2ms, got '" + value + "'");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw new UsageException("router: --heartbeat: " + e.getMessage());
        }
    }

    private static int liveness(String value) throws UsageException {
        try {
            int n = Integer.parseInt(value);
            if (n >= 1 && n <= 255) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException("router: --liveness must be a whole number of intervals from 1 to 255, got '" + value + "'");
    }
}
