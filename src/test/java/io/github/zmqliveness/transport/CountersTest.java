package io.github.zmqliveness.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CountersTest {
    @Test
    void aCounterIsTheSumOfWhatTheOwnerAndEveryOtherThreadCounted() throws InterruptedException {
        Counters counters = new Counters();
        int threads = 4;
        int each = 100_000;
        List<Thread> others = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            others.add(new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    counters.inc(Counter.MESSAGES_ACCEPTED);
                }
            }));
        }
        Thread owner = new Thread(() -> {
            Counters.Owner mine = counters.owner();
            for (int i = 0; i < each; i++) {
                mine.inc(Counter.MESSAGES_ACCEPTED);
                mine.inc(Counter.MESSAGES_SENT);
            }
            mine.add(Counter.DROPPED_PEER_GONE, 7);
            mine.add(Counter.DROPPED_PEER_GONE, 0);
        });
        others.forEach(Thread::start);
        owner.start();
        for (Thread t : others) {
            t.join();
        }
        owner.join();
        counters.add(Counter.DROPPED_PEER_GONE, 3);

        assertEquals((threads + 1L) * each, counters.get(Counter.MESSAGES_ACCEPTED));
        assertEquals(each, counters.get(Counter.MESSAGES_SENT));
        assertEquals(10, counters.get(Counter.DROPPED_PEER_GONE));
        Map<String, Long> snapshot = counters.snapshot();
        long routerCounters = java.util.Arrays.stream(Counter.values()).filter(c -> c.shownTo(Counter.Side.ROUTER)).count();
        assertEquals(routerCounters, snapshot.size(), "the router's counters, and only they");
        assertEquals(false, snapshot.containsKey("receivedStale"), "a client counter");
        assertEquals((threads + 1L) * each, snapshot.get("messagesAccepted"));
        assertEquals(10L, snapshot.get("droppedPeerGone"));
        assertEquals(0L, snapshot.get("joins"));
    }

    @Test
    void eachSideShowsItsOwnCountersAndTheOnesTheyShare() {
        Counters client = new Counters(Counter.Side.CLIENT);
        client.inc(Counter.RECEIVED_STALE);
        client.inc(Counter.MESSAGES_SENT);
        Map<String, Long> snapshot = client.snapshot();
        assertEquals(1L, snapshot.get("receivedStale"));
        assertEquals(1L, snapshot.get("messagesSent"), "shared with the router");
        assertEquals(false, snapshot.containsKey("joins"), "a router counter");
    }
}
