package io.github.zmqliveness.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.helpers.MessageFormatter;

class RateLimitedLogTest {
    private static final long S = 1_000_000_000L;

    /** The WARN lines, formatted as a logger would print them. */
    private final List<String> lines = new ArrayList<>();

    private final Logger logger = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(), new Class<?>[] {Logger.class},
            (proxy, method, args) -> {
                switch (method.getName()) {
                    case "warn":
                        Object[] params = args.length == 2 && args[1] instanceof Object[] ? (Object[]) args[1]
                                : java.util.Arrays.copyOfRange(args, 1, args.length);
                        lines.add(MessageFormatter.arrayFormat((String) args[0], params).getMessage());
                        return null;
                    case "getName":
                    case "toString":
                        return "test";
                    case "hashCode":
                        return 0;
                    case "equals":
                        return proxy == args[0];
                    default:
                        if (method.getReturnType() == boolean.class) {
                            return true;
                        }
                        throw new AssertionError("unexpected logger call " + method);
                }
            });

    private final RateLimitedLog log = new RateLimitedLog(logger, 10, TimeUnit.SECONDS);

    @Test
    void firstLineOfAKindIsLogged() {
        log.warn("bad-frame", 5 * S, "bad frame from {}: {}", "peer-1", "unknown command");
        assertEquals(List.of("bad frame from peer-1: unknown command"), lines);
    }

    @Test
    void linesWithinThePeriodAreHeldBack() {
        log.warn("bad-frame", 0, "bad frame from {}", "peer-1");
        for (int i = 1; i <= 50; i++) {
            log.warn("bad-frame", i * 100_000_000L, "bad frame from {}", "peer-" + i);
        }
        log.warn("bad-frame", 10 * S - 1, "bad frame from {}", "peer-last");
        assertEquals(List.of("bad frame from peer-1"), lines);
    }

    @Test
    void firstLineAfterThePeriodSaysHowManyWereHeldBack() {
        log.warn("bad-frame", 0, "bad frame from {}", "peer-1");
        for (int i = 1; i <= 7; i++) {
            log.warn("bad-frame", i * S, "bad frame from {}", "peer-1");
        }
        log.warn("bad-frame", 10 * S, "bad frame from {}", "peer-2");

        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).startsWith("bad frame from peer-2"), lines.get(1));
        assertTrue(lines.get(1).contains("7 more like this"), lines.get(1));

        // nothing held back in the next period: no count
        log.warn("bad-frame", 20 * S, "bad frame from {}", "peer-3");
        assertEquals("bad frame from peer-3", lines.get(2));
    }

    @Test
    void differentKindsAreLimitedIndependently() {
        log.warn("bad-frame", 0, "bad frame");
        log.warn("bad-identity", S, "bad identity");
        log.warn("bad-frame", 2 * S, "bad frame");
        log.warn("bad-identity", 3 * S, "bad identity");
        log.warn("bad-identity", 11 * S, "bad identity");

        assertEquals(List.of("bad frame", "bad identity", "bad identity (1 more like this since the last such line)"), lines);
    }
}
