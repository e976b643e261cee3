package io.github.zmqliveness.cli;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations of the command line: {@code 200ms}, {@code 1s}, {@code 1.5s}, {@code 2m}. */
final class Durations {
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ms|s|m)");
    private static final BigInteger MAX_NANOS = BigInteger.valueOf(Long.MAX_VALUE);

    private Durations() {
    }

    /**
     * A duration from a number and a unit ({@code ms}, {@code s} or {@code m}); fractions are kept
     * to the nanosecond.
     *
     * @throws IllegalArgumentException with a message fit for the user if the text is not one
     */
    static Duration parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty duration: write a number and a unit, such as 200ms, 1.5s or 2m");
        }
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            String hint = text.trim().matches("\\d+(\\.\\d*)?") ? " (a unit is needed: ms, s or m)" : "";
            throw new IllegalArgumentException("not a duration: '" + text + "'" + hint + "; write a number and a unit, such as 200ms, 1.5s or 2m");
        }
        BigDecimal amount = new BigDecimal(m.group(1).endsWith(".") ? m.group(1) + "0" : m.group(1));
        BigInteger nanos = amount.multiply(nanosPerUnit(m.group(2))).setScale(0, RoundingMode.HALF_UP).toBigIntegerExact();
        if (nanos.compareTo(MAX_NANOS) > 0) {
            throw new IllegalArgumentException("duration too long: '" + text + "'");
        }
        return Duration.ofNanos(nanos.longValueExact());
    }

    /** Like {@link #parse}, but zero is refused too: for intervals and timeouts. */
    static Duration parsePositive(String text) {
        Duration d = parse(text);
        if (d.isZero()) {
            throw new IllegalArgumentException("duration must be more than zero, got '" + text + "'");
        }
        return d;
    }

    /** Short text for a duration, as the parser reads it back: {@code 500ms}, {@code 1.5s}. */
    static String format(Duration d) {
        long millis = d.toMillis();
        if (millis < 1000 || millis % 100 != 0) {
            return millis + "ms";
        }
        return BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString() + "s";
    }

    private static BigDecimal nanosPerUnit(String unit) {
        switch (unit) {
            case "ms":
                return BigDecimal.valueOf(1_000_000L);
            case "s":
                return BigDecimal.valueOf(1_000_000_000L);
            case "m":
                return BigDecimal.valueOf(60_000_000_000L);
            default:
                throw new AssertionError(unit);
        }
    }
}
