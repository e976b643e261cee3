package io.github.zmqliveness.liveness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.PeerState;
import io.github.zmqliveness.liveness.PeerTable.Arrival;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerTableTest {
    private static final long MS = 1_000_000L;
    private static final long S = 1_000 * MS;
    private static final Identity A = Identity.of("worker-a");
    private static final Identity B = Identity.of("worker-b");

    /** Records what the ticks did, in order. */
    private static final class Sink implements PeerTable.TickSink {
        final List<PeerRecord> suspected = new ArrayList<>();
        final List<PeerRecord> evicted = new ArrayList<>();
        final List<EvictReason> reasons = new ArrayList<>();
        final List<PeerRecord> quarantineEnded = new ArrayList<>();

        @Override
        public void suspect(PeerRecord peer) {
            suspected.add(peer);
        }

        @Override
        public void evicted(PeerRecord peer, EvictReason reason) {
            evicted.add(peer);
            reasons.add(reason);
        }

        @Override
        public void quarantineEnded(PeerRecord peer) {
            quarantineEnded.add(peer);
        }
    }

    private final Sink sink = new Sink();
    private PeerTable table = table(3);
    private long now = 0;
    private long lastTick = Long.MIN_VALUE;

    /** interval 1 s, the given liveness, conflict = 3 takeovers within 10 s, quarantine 30 s. */
    private static PeerTable table(int liveness) {
        return new PeerTable(new LivenessRules(Duration.ofSeconds(1), liveness, 3, Duration.ofSeconds(10), Duration.ofSeconds(30)));
    }

    /** Moves the clock to {@code t}, ticking at every deadline on the way, as the router loop does. */
    private void advanceTo(long t) {
        long d;
        while ((d = table.nextDeadline()) <= t) {
            assertTrue(d > lastTick, "deadline " + d + " is still pending after the tick at " + lastTick);
            now = Math.max(now, d);
            table.onTick(now, sink);
            lastTick = now;
        }
        now = t;
        table.onTick(now, sink);
        lastTick = now;
    }

    private PeerRecord joinHeartbeating(Identity id, String address) {
        assertEquals(Arrival.JOINED, table.onMessage(id, address, now));
        PeerRecord peer = table.get(id);
        table.startHeartbeating(peer, now);
        return peer;
    }

    @Test
    void joinReturnsTheNewRecordWhichGetFinds() {
        PeerRecord a = table.join(A, "tcp://10.0.0.1:5000", 7 * MS);

        assertSame(a, table.get(A));
        assertEquals(A, a.identity());
        assertEquals("tcp://10.0.0.1:5000", a.address());
        assertEquals(7 * MS, a.connectedSince());
        assertEquals(7 * MS, a.lastHeard());
        assertEquals(PeerState.ALIVE, a.state());
        assertFalse(a.heartbeating());
        assertEquals(1, table.size());
        assertThrows(IllegalStateException.class, () -> table.join(A, "tcp://10.0.0.2:5000", 8 * MS), "joined twice");
        assertSame(a, table.get(A));
    }

    @Test
    void onMessageWithTheRecordDecidesAsOnMessageWithTheIdentity() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        advanceTo(2 * S);
        assertEquals(PeerState.SUSPECT, a.state());

        assertEquals(Arrival.HEARD, table.onMessage(a, "tcp://host:1", 2_100 * MS));
        assertEquals(PeerState.ALIVE, a.state());
        assertEquals(2_100 * MS, a.lastHeard());
        assertEquals(Arrival.HEARD, table.onMessage(a, null, 2_200 * MS), "an unknown address is no takeover");
        assertEquals("tcp://host:1", a.address());
        assertEquals(Arrival.TOOK_OVER, table.onMessage(a, "tcp://host:2", 3 * S));
        assertEquals("tcp://host:1", a.previousAddress());
        assertEquals(Arrival.TOOK_OVER, table.onMessage(a, "tcp://host:3", 4 * S));
        assertEquals(Arrival.CONFLICT, table.onMessage(a, "tcp://host:4", 5 * S));
        assertEquals(Arrival.QUARANTINED, table.onMessage(a, "tcp://host:4", 6 * S));
        assertSame(a, table.get(A));
        assertEquals(1, table.size());

        PeerRecord b = table.join(B, null, 6 * S);
        assertEquals(Arrival.HEARD, table.onMessage(b, "tcp://host:9", 6 * S), "the first known address is no takeover");
        assertEquals("tcp://host:9", b.address());
        assertEquals(0, b.takeovers());
    }

    @Test
    void onMessageWithARemovedRecordIsRefused() {
        PeerRecord a = table.join(A, "tcp://host:1", now);
        table.remove(a);

        assertThrows(IllegalArgumentException.class, () -> table.onMessage(a, "tcp://host:1", now));
        assertNull(table.get(A));
    }

    @Test
    void peerThatNeverHeartbeatsIsNeverSuspectedOrEvicted() {
        assertEquals(Arrival.JOINED, table.onMessage(A, "tcp://10.0.0.1:5000", now));
        assertEquals(Long.MAX_VALUE, table.nextDeadline());

        advanceTo(365L * 24 * 3600 * S);

        assertTrue(sink.suspected.isEmpty());
        assertTrue(sink.evicted.isEmpty());
        assertEquals(PeerState.ALIVE, table.get(A).state());
    }

    @Test
    void silentHeartbeatingPeerBecomesSuspectOnceAtIntervalTimesLivenessMinusOne() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");

        advanceTo(1_999 * MS);
        assertTrue(sink.suspected.isEmpty(), "suspected before 2 s of silence");
        assertEquals(PeerState.ALIVE, a.state());

        advanceTo(2 * S);
        assertEquals(List.of(a), sink.suspected);
        assertEquals(PeerState.SUSPECT, a.state());

        advanceTo(2_500 * MS);
        advanceTo(2_999 * MS);
        assertEquals(1, sink.suspected.size(), "suspected more than once");
        assertTrue(sink.evicted.isEmpty());
    }

    @Test
    void silentHeartbeatingPeerIsEvictedAtIntervalTimesLiveness() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");

        advanceTo(3 * S - 1);
        assertTrue(sink.evicted.isEmpty(), "evicted before 3 s of silence");
        assertSame(a, table.get(A));

        advanceTo(3 * S);
        assertEquals(List.of(a), sink.evicted);
        assertEquals(List.of(EvictReason.HEARTBEAT_TIMEOUT), sink.reasons);
        assertTrue(a.removed());
        assertNull(table.get(A));
        assertEquals(0, table.size());
    }

    @Test
    void peerHeardEvery900MsIsNeverSuspectedOver1000Intervals() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");

        for (int i = 1; i <= 1_000; i++) {
            advanceTo(i * 900 * MS);
            assertEquals(Arrival.HEARD, table.onMessage(A, "tcp://10.0.0.1:5000", now));
        }

        assertTrue(sink.suspected.isEmpty());
        assertTrue(sink.evicted.isEmpty());
        assertEquals(PeerState.ALIVE, a.state());
    }

    @Test
    void suspectPeerThatIsHeardIsAliveAgainAndItsDeadlinesRestart() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");
        advanceTo(2 * S);
        assertEquals(PeerState.SUSPECT, a.state());

        advanceTo(2_500 * MS);
        assertEquals(Arrival.HEARD, table.onMessage(A, "tcp://10.0.0.1:5000", now));
        assertEquals(PeerState.ALIVE, a.state());

        advanceTo(4_499 * MS); // 3 s after the first silence began, but only 1.999 s after it was heard
        assertEquals(1, sink.suspected.size());
        assertTrue(sink.evicted.isEmpty());

        advanceTo(4_500 * MS);
        assertEquals(2, sink.suspected.size());
        advanceTo(5_500 * MS - 1);
        assertTrue(sink.evicted.isEmpty());
        advanceTo(5_500 * MS);
        assertEquals(List.of(a), sink.evicted);
    }

    @Test
    void livenessOneEvictsAfterOneIntervalWithoutSuspectStage() {
        table = table(1);
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");

        advanceTo(S - 1);
        assertTrue(sink.evicted.isEmpty());
        advanceTo(S);

        assertTrue(sink.suspected.isEmpty());
        assertEquals(List.of(a), sink.evicted);
        assertEquals(List.of(EvictReason.HEARTBEAT_TIMEOUT), sink.reasons);
    }

    @Test
    void sameIdentityFromNewAddressTakesOverAndMustSayHelloAgain() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");
        advanceTo(500 * MS);

        assertEquals(Arrival.TOOK_OVER, table.onMessage(A, "tcp://10.0.0.2:6000", now));

        assertSame(a, table.get(A));
        assertEquals("tcp://10.0.0.2:6000", a.address());
        assertEquals("tcp://10.0.0.1:5000", a.previousAddress());
        assertEquals(1, a.takeovers());
        assertEquals(500 * MS, a.connectedSince());
        assertFalse(a.heartbeating());
        // no longer held to heartbeats until the new connection says HELLO
        advanceTo(60 * S);
        assertTrue(sink.suspected.isEmpty());
        assertTrue(sink.evicted.isEmpty());
    }

    @Test
    void threeTakeoversWithinWindowQuarantineTheIdentityUntilQuarantineEnds() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        assertEquals(Arrival.TOOK_OVER, table.onMessage(A, "tcp://host:2", 1 * S));
        assertEquals(Arrival.TOOK_OVER, table.onMessage(A, "tcp://host:3", 2 * S));
        assertEquals(Arrival.CONFLICT, table.onMessage(A, "tcp://host:4", 3 * S));
        now = 3 * S;

        assertEquals(PeerState.QUARANTINED, a.state());
        assertEquals(3, a.takeovers());
        assertEquals("tcp://host:3", a.previousAddress());
        assertEquals(Arrival.QUARANTINED, table.onMessage(A, "tcp://host:4", 4 * S));
        assertEquals(Arrival.QUARANTINED, table.onMessage(A, "tcp://host:5", 5 * S));

        advanceTo(33 * S - 1);
        assertTrue(sink.quarantineEnded.isEmpty(), "quarantine ended early");
        assertTrue(sink.evicted.isEmpty(), "a quarantined identity was evicted for silence");
        assertEquals(PeerState.QUARANTINED, a.state());

        advanceTo(33 * S);
        assertEquals(List.of(a), sink.quarantineEnded);
        assertNull(table.get(A));

        assertEquals(Arrival.JOINED, table.onMessage(A, "tcp://host:6", now));
        PeerRecord fresh = table.get(A);
        assertEquals(PeerState.ALIVE, fresh.state());
        assertEquals(0, fresh.takeovers());
    }

    @Test
    void takeoversSpreadWiderThanWindowAreNotAConflict() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        for (int i = 1; i <= 10; i++) {
            assertEquals(Arrival.TOOK_OVER, table.onMessage(A, "tcp://host:" + (i + 1), i * 5_100 * MS),
                    "takeover " + i + " (every 5.1 s: never 3 within 10 s)");
        }
        assertEquals(PeerState.ALIVE, a.state());
        assertEquals(10, a.takeovers());
    }

    @Test
    void takeoversByTheSameClientAreNeverAConflict() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        for (int i = 1; i <= 10; i++) {
            assertEquals(Arrival.TOOK_OVER, table.onMessage(a, "tcp://host:" + (i + 1), i * 100 * MS, true),
                    "move " + i + " of one client (every 100 ms)");
        }
        assertEquals(PeerState.ALIVE, a.state());
        assertEquals(10, a.takeovers());
        // The same moves by what may be another client are a conflict by the third.
        assertEquals(Arrival.TOOK_OVER, table.onMessage(a, "tcp://host:20", 1_100 * MS, false));
        assertEquals(Arrival.TOOK_OVER, table.onMessage(a, "tcp://host:21", 1_200 * MS, false));
        assertEquals(Arrival.CONFLICT, table.onMessage(a, "tcp://host:22", 1_300 * MS, false));
    }

    @Test
    void removedPeersPendingDeadlineNeverFires() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");
        advanceTo(500 * MS);

        assertTrue(table.remove(a));
        assertFalse(table.remove(a), "second remove should be a no-op");
        assertEquals(Arrival.JOINED, table.onMessage(A, "tcp://10.0.0.1:5001", now)); // rejoins, no HELLO

        table.onTick(60 * S, sink); // well past the old deadlines, before anything asks nextDeadline()
        assertTrue(sink.suspected.isEmpty());
        assertTrue(sink.evicted.isEmpty(), "the removed record was evicted again");
        assertEquals(PeerState.ALIVE, table.get(A).state());
        assertEquals(Long.MAX_VALUE, table.nextDeadline());
    }

    @Test
    void tickThatComesLateEvictsWithoutSuspectingFirst() {
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");

        table.onTick(5 * S, sink); // the loop was busy: first tick after 5 s of silence

        assertTrue(sink.suspected.isEmpty());
        assertEquals(List.of(a), sink.evicted);
        assertEquals(List.of(EvictReason.HEARTBEAT_TIMEOUT), sink.reasons);
    }

    @Test
    void nextDeadlineIsEarliestLiveDeadlineOrMaxValue() {
        assertEquals(Long.MAX_VALUE, table.nextDeadline());
        PeerRecord a = joinHeartbeating(A, "tcp://10.0.0.1:5000");
        now = 500 * MS;
        PeerRecord b = joinHeartbeating(B, "tcp://10.0.0.2:5000");

        assertEquals(2 * S, table.nextDeadline(), "A is suspect first");
        table.remove(a);
        assertEquals(2_500 * MS, table.nextDeadline(), "A's deadline is gone, B's is next");
        table.remove(b);
        assertEquals(Long.MAX_VALUE, table.nextDeadline());
    }

    @Test
    void tenThousandPeersKeepTheHeapBoundedAndAreAllEvictedInOneTickWhenSilent() {
        int n = 10_000;
        List<PeerRecord> peers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            peers.add(joinHeartbeating(Identity.of("peer-" + i), "tcp://10.0.0.1:" + i));
        }
        for (int interval = 1; interval <= 20; interval++) {
            for (int step = 1; step <= 10; step++) { // a tick every 100 ms, and at every deadline
                advanceTo((interval - 1) * S + step * 100 * MS);
                assertTrue(table.pendingEntries() <= 2 * n, "heap holds " + table.pendingEntries() + " entries");
            }
            for (int i = 0; i < n; i++) {
                assertEquals(Arrival.HEARD, table.onMessage(peers.get(i).identity(), "tcp://10.0.0.1:" + i, now));
            }
        }
        assertTrue(sink.suspected.isEmpty());
        assertTrue(sink.evicted.isEmpty());
        assertEquals(n, table.size());

        long lastHeard = now;
        advanceTo(lastHeard + 3 * S - 1);
        assertEquals(n, sink.suspected.size(), "every peer suspected once");
        assertTrue(sink.evicted.isEmpty());
        assertTrue(table.pendingEntries() <= 2 * n);

        table.onTick(lastHeard + 3 * S, sink);
        assertEquals(n, sink.evicted.size());
        assertEquals(0, table.size());
        assertEquals(Long.MAX_VALUE, table.nextDeadline());
    }

    /** The driver does not run from {@code from} to {@code to}, then tells the table and ticks; returns what stalled() said. */
    private int stall(long from, long to) {
        now = to;
        int covered = table.stalled(to - from, to);
        advanceTo(to);
        return covered;
    }

    /** Both peers heartbeat every second up to {@code until}, as a live client does. */
    private void heartbeatUntil(long from, long until, PeerRecord... peers) {
        for (long t = from; t <= until; t += S) {
            advanceTo(t);
            for (PeerRecord p : peers) {
                table.onMessage(p, p.address(), t);
            }
        }
    }

    @Test
    void aStallOfFiveTimesTheBoundEvictsNoPeerThatSpeaksWithinOneIntervalAfterIt() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        PeerRecord b = joinHeartbeating(B, "tcp://host:2");
        heartbeatUntil(S, 10 * S, a, b);
        // The driver stalls: no tick, nothing read, for 5 x the bound (interval x liveness + interval = 4 s).
        long stallEnd = 10 * S + 5 * 4 * S;
        assertEquals(2, stall(10 * S, stallEnd), "both peers' deadlines fell inside the stall");
        // What they sent meanwhile is read now and over the next interval.
        table.onMessage(a, a.address(), stallEnd + 300 * MS);
        advanceTo(stallEnd + 300 * MS);
        table.onMessage(b, b.address(), stallEnd + 900 * MS);
        heartbeatUntil(stallEnd + S, stallEnd + 15 * S, a, b);
        assertEquals(List.of(), sink.suspected);
        assertEquals(List.of(), sink.evicted);
        assertFalse(table.holding(stallEnd + S));
    }

    @Test
    void withoutBeingToldOfTheStallTheTableWouldEvictBoth() {
        // The same history with no stalled() call: what the rule above prevents.
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        PeerRecord b = joinHeartbeating(B, "tcp://host:2");
        heartbeatUntil(S, 10 * S, a, b);
        advanceTo(30 * S);
        assertEquals(List.of(a, b), sink.evicted.stream().sorted(java.util.Comparator.comparing(p -> p.identity().toString()))
                .collect(java.util.stream.Collectors.toList()));
    }

    @Test
    void aPeerThatDiedBeforeTheStallIsEvictedWithinTheBoundAfterIt() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        PeerRecord b = joinHeartbeating(B, "tcp://host:2");
        heartbeatUntil(S, 10 * S, a, b);
        // a dies at 10 s; the driver stalls from 10.5 s to 30 s; b lives on.
        long stallEnd = 30 * S;
        stall(10_500 * MS, stallEnd);
        table.onMessage(b, b.address(), stallEnd + 100 * MS);
        advanceTo(stallEnd + 999 * MS);
        assertEquals(List.of(), sink.evicted, "held for one interval after the stall");
        heartbeatUntil(stallEnd + S, stallEnd + 4 * S, b);
        assertEquals(List.of(a), sink.evicted, "the dead one, within the bound after the stall");
        assertEquals(List.of(EvictReason.HEARTBEAT_TIMEOUT), sink.reasons);
        assertEquals(List.of(), sink.suspected, "the live one was never suspected");
    }

    @Test
    void aConnectionLostRightAfterAStallDetachesThePeerAndItsReturnOnANewConnectionIsATakeoverNotAnEviction() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        PeerRecord b = joinHeartbeating(B, "tcp://host:2");
        heartbeatUntil(S, 10 * S, a, b);
        long stallEnd = 13 * S;
        stall(10 * S, stallEnd);
        // On resuming, the driver learns that both connections are gone (the clients gave up on it meanwhile).
        assertTrue(table.detach(a, stallEnd + 10 * MS));
        assertTrue(table.detach(b, stallEnd + 10 * MS));
        assertTrue(a.detached());
        // a comes back on a new connection 1.5 s later, after the hold: a takeover, kept all along.
        advanceTo(stallEnd + 1_500 * MS);
        assertEquals(List.of(), sink.evicted, "kept while it may still return");
        assertEquals(Arrival.TOOK_OVER, table.onMessage(a, "tcp://host:3", stallEnd + 1_500 * MS, true));
        assertFalse(a.detached());
        table.startHeartbeating(a, stallEnd + 1_500 * MS);
        // b never comes back: evicted at interval x liveness after the hold, as TRANSPORT_LOST.
        heartbeatUntil(stallEnd + 2 * S, stallEnd + 10 * S, a);
        assertEquals(List.of(b), sink.evicted);
        assertEquals(List.of(EvictReason.TRANSPORT_LOST), sink.reasons);
        assertEquals(List.of(), sink.suspected);
        assertSame(a, table.get(A));
    }

    @Test
    void aDetachedPeerThatNeverReturnsIsEvictedAtTheBoundAfterTheHoldNotBefore() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        heartbeatUntil(S, 10 * S, a);
        long stallEnd = 13 * S;
        stall(10 * S, stallEnd);
        assertTrue(table.detach(a, stallEnd + 200 * MS));
        // hold ends at stallEnd + 1 s; the bound is interval x liveness = 3 s after it.
        advanceTo(stallEnd + 3_999 * MS);
        assertEquals(List.of(), sink.evicted);
        advanceTo(stallEnd + 4 * S);
        assertEquals(List.of(a), sink.evicted);
        assertEquals(List.of(EvictReason.TRANSPORT_LOST), sink.reasons);
        assertNull(table.get(A));
    }

    @Test
    void aConnectionLostWithNoStallIsNotDetached() {
        PeerRecord a = joinHeartbeating(A, "tcp://host:1");
        heartbeatUntil(S, 10 * S, a);
        assertFalse(table.detach(a, 10 * S), "no stall: the driver evicts at once");
        assertFalse(a.detached());
        // after a stall's hold has ended, too
        table.stalled(3 * S, 20 * S);
        assertFalse(table.detach(a, 21 * S + 1));
    }
}
