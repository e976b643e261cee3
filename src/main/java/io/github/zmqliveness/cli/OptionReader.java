package io.github.zmqliveness.cli;

import java.time.Duration;
import java.util.List;

/**
 * Walks a command's options, each {@code --name value}, {@code --name=value} or a bare
 * {@code --flag}. Hand-made on purpose: the tool takes no dependency for a handful of options.
 */
final class OptionReader {
    private final String command;
    private final List<String> args;
    private int next;
    private String name;
    private String inlineValue;

    OptionReader(String command, List<String> args) {
        this.command = command;
        this.args = args;
    }

    /** Moves to the next option; false when there are no more. */
    boolean advance() throws UsageException {
        if (next >= args.size()) {
            return false;
        }
        String token = args.get(next++);
        if (!token.startsWith("-") || token.equals("-") || token.equals("--")) {
            throw new UsageException(command + ": unexpected argument '" + token + "'");
        }
        int eq = token.indexOf('=');
        name = eq < 0 ? token : token.substring(0, eq);
        inlineValue = eq < 0 ? null : token.substring(eq + 1);
        return true;
    }

    /** The current option's name, dashes included ({@code --bind}). */
    String name() {
        return name;
    }

    /** The current option's value, from {@code --name=value} or the following argument. */
    String value() throws UsageException {
        if (inlineValue != null) {
            return inlineValue;
        }
        if (next >= args.size() || args.get(next).startsWith("--")) {
            throw new UsageException(command + ": option " + name + " needs a value");
        }
        return args.get(next++);
    }

    /** For a flag: refuses {@code --flag=value}. */
    void noValue() throws UsageException {
        if (inlineValue != null) {
            throw new UsageException(command + ": option " + name + " takes no value");
        }
    }

    /** The current option's value as a ZeroMQ endpoint, {@code transport://address}. */
    /** A CurveZMQ key as 40 Z85 characters. */
    String keyValue() throws UsageException {
        String v = value();
        try {
            io.github.zmqliveness.CurveKeyPair.decode(v, name);
        } catch (IllegalArgumentException e) {
            throw new UsageException(command + ": " + e.getMessage());
        }
        return v;
    }

    String endpointValue() throws UsageException {
        String value = value();
        if (!value.matches("[a-z]+://.+")) {
            throw new UsageException(command + ": " + name + " needs a ZeroMQ endpoint such as tcp://127.0.0.1:5555, got '" + value + "'");
        }
        return value;
    }

    /** The current option's value as a duration of at least {@code min} (see {@link Durations#parse}). */
    Duration durationValue(Duration min) throws UsageException {
        String value = value();
        try {
            Duration d = Durations.parsePositive(value);
            if (d.compareTo(min) < 0) {
                throw new IllegalArgumentException("must be at least " + Durations.format(min) + ", got '" + value + "'");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw new UsageException(command + ": " + name + ": " + e.getMessage());
        }
    }

    /** A heartbeat interval: the transport timeout is half of it and JeroMQ counts whole milliseconds, so 2ms at least. */
    Duration heartbeatValue() throws UsageException {
        return durationValue(Duration.ofMillis(2));
    }

    /** The current option's value as a whole number from {@code min} to {@code max}; {@code what} names its unit. */
    int intValue(int min, int max, String what) throws UsageException {
        String value = value();
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException(command + ": " + name + " must be a whole number of " + what + " from " + min + " to " + max
                + ", got '" + value + "'");
    }

    /** Missed heartbeat intervals before the other side is given up: 1 to 255, as ZLP carries it in one byte. */
    int livenessValue() throws UsageException {
        return intValue(1, 255, "intervals");
    }

    UsageException unknown() {
        return new UsageException(command + ": unknown option " + name);
    }
}
