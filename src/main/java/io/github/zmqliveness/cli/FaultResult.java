package io.github.zmqliveness.cli;

import java.util.Locale;

/** One line of the demo's summary: a scripted fault, what was expected and seen, how fast, and the verdict. */
final class FaultResult {
    static final String FORMAT = "  %-32s %-44s %-54s %8s  %s";

    final String fault;
    final String expected;
    final String seen;
    /** From the fault to the event that reported it; null if none did (or for a check with no fault). */
    final Long millis;
    final boolean pass;

    FaultResult(String fault, String expected, String seen, Long millis, boolean pass) {
        this.fault = fault;
        this.expected = expected;
        this.seen = seen;
        this.millis = millis;
        this.pass = pass;
    }

    static String header() {
        return String.format(Locale.ROOT, FORMAT, "FAULT", "EXPECTED", "SEEN", "TIME", "RESULT");
    }

    String line() {
        return String.format(Locale.ROOT, FORMAT, fault, expected, seen, millis == null ? "-" : millis + "ms", pass ? "PASS" : "FAIL");
    }
}
