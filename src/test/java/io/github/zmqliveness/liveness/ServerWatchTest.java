package io.github.zmqliveness.liveness;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServerWatchTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aServerSilentForIntervalTimesLivenessIsDeadNotBefore() {
        ServerWatch w = new ServerWatch(1000 * MS, 3);
        w.reset(0);
        assertFalse(w.silent(2999 * MS));
        assertTrue(w.silent(3000 * MS));
        w.heard(2500 * MS);
        assertFalse(w.silent(3000 * MS), "anything heard restarts the silence");
        assertFalse(w.silent(5499 * MS));
        assertTrue(w.silent(5500 * MS));
    }

    @Test
    void aHeartbeatIsDueEveryIntervalAfterTheLastOne() {
        ServerWatch w = new ServerWatch(1000 * MS, 3);
        w.reset(0);
        assertFalse(w.heartbeatDue(999 * MS));
        assertTrue(w.heartbeatDue(1000 * MS));
        w.sent(1000 * MS);
        assertFalse(w.heartbeatDue(1500 * MS));
        assertEquals(2000 * MS, w.nextDeadline(), "the next heartbeat comes before the silence limit");
        w.heard(1900 * MS);
        assertEquals(2000 * MS, w.nextDeadline());
    }

    @Test
    void theServersRulesReplaceTheClientsOwn() {
        ServerWatch w = new ServerWatch(1000 * MS, 3);
        w.reset(0);
        w.rules(200 * MS, 2);
        assertEquals(400 * MS, w.silenceLimitNanos());
        assertTrue(w.silent(400 * MS));
        assertTrue(w.heartbeatDue(200 * MS));
        assertThrows(IllegalArgumentException.class, () -> w.rules(0, 3));
        assertThrows(IllegalArgumentException.class, () -> w.rules(MS, 0));
    }

    @Test
    void silenceTheClientCouldNotHearIsNotHeldAgainstTheServer() {
        ServerWatch w = new ServerWatch(1000 * MS, 3);
        w.reset(0);
        w.heard(1000 * MS);
        // The client's own process stopped from 1.5 s to 9.5 s: 8 s of silence it could not hear.
        w.stalled(9500 * MS);
        assertFalse(w.silent(9500 * MS), "not right after the stall");
        assertFalse(w.silent(10_499 * MS), "not within one interval of it");
        w.sent(9900 * MS);
        assertEquals(10_500 * MS, w.nextDeadline(), "the loop wakes when the hold ends, not at the long-passed silence limit");
        w.heard(9600 * MS); // what the server sent meanwhile is read
        assertFalse(w.silent(10_500 * MS), "a server heard after the stall is alive");
        assertFalse(w.silent(12_599 * MS));
        assertTrue(w.silent(12_600 * MS), "and is held to the usual limit from then on");

        ServerWatch dead = new ServerWatch(1000 * MS, 3);
        dead.reset(0);
        dead.stalled(9500 * MS);
        assertFalse(dead.silent(10_499 * MS));
        assertTrue(dead.silent(10_500 * MS), "a server that died is given up one interval after the stall");
    }
}
