package io.github.zmqliveness.transport;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.SendResult;
import io.github.zmqliveness.Session;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The outbox's part of the session guarantee, without sockets: what was sent to one session is never written to the next. */
class OutboxesTest {
    private static final Identity ID = Identity.of("client");
    private static final byte[] INSTANCE_A = new byte[16];
    private static final byte[] INSTANCE_B = new byte[16];

    static {
        INSTANCE_B[0] = 1;
    }

    private final Counters counters = new Counters();
    private final Outboxes outboxes = new Outboxes(counters, 100, 1 << 20, Long.MAX_VALUE, () -> { });
    private final List<String> written = new ArrayList<>();
    private final Outboxes.Writer writer = new Outboxes.Writer() {
        @Override
        public boolean write(Outbox ob, byte[][] frames, long bytes) {
            written.add(ob.sessionNumber() + ":" + new String(frames[0], StandardCharsets.UTF_8));
            return true;
        }

        @Override
        public boolean writeControl(Outbox ob, byte[] command) {
            written.add(ob.sessionNumber() + ":control");
            return true;
        }
    };

    private SendResult send(Session target, String text) {
        byte[][] frames = {text.getBytes(StandardCharsets.UTF_8)};
        return outboxes.offer(ID, target, frames, frames[0].length, 0, false);
    }

    @Test
    void aMessageAcceptedForASessionThatEndsBeforeItIsWrittenIsDroppedNotWrittenToTheNext() {
        Outbox ob = outboxes.open(ID);
        Session a = new Session(ID, 1, INSTANCE_A);
        Session b = new Session(ID, 2, INSTANCE_B);
        ob.begin(a);
        // Accepted while A held the identity (by session, and by identity: both belong to A) ...
        assertEquals(SendResult.QUEUED, send(a, "reply for A"));
        assertEquals(SendResult.QUEUED, send(null, "notice while A held it"));
        // ... and B's HELLO is read before the loop writes them (the race a send on another thread can lose).
        ob.begin(b);
        assertEquals(SendResult.STALE_SESSION, send(a, "late reply for A"));
        assertEquals(SendResult.QUEUED, send(null, "notice for B"));
        outboxes.flush(System.nanoTime(), writer);
        assertEquals(List.of("2:notice for B"), written);
        assertEquals(2, counters.snapshot().get("droppedStaleSession"));
        assertEquals(1, counters.snapshot().get("refusedStaleSession"));
    }

    @Test
    void aPlainDealersMessagesByIdentityFollowTheIdentityToItsNextConnection() {
        Outbox ob = outboxes.open(ID);
        ob.begin(new Session(ID, 1, null));
        assertEquals(SendResult.QUEUED, send(null, "for whoever holds it"));
        Session second = new Session(ID, 2, null);
        ob.begin(second);
        assertEquals(SendResult.QUEUED, send(second, "for the second connection"));
        outboxes.flush(System.nanoTime(), writer);
        assertEquals(List.of("2:for whoever holds it", "2:for the second connection"), written);
        assertEquals(0, counters.snapshot().getOrDefault("droppedStaleSession", 0L));
    }
}
