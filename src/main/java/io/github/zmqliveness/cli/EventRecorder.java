package io.github.zmqliveness.cli;

import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerListener;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Keeps every peer event of the demo's router, in order, and lets the script wait for the one
 * that reports a fault. Positions ({@link #mark()}) rather than times say "since the fault", so a
 * clock step cannot hide an event.
 */
final class EventRecorder implements PeerListener {
    private final List<PeerEvent> events = new ArrayList<>();
    private final Consumer<PeerEvent> onEach;

    /** {@code onEach} sees every event as it arrives (on the router's event thread). */
    EventRecorder(Consumer<PeerEvent> onEach) {
        this.onEach = onEach;
    }

    @Override
    public void onEvent(PeerEvent event) {
        synchronized (this) {
            events.add(event);
            notifyAll();
        }
        onEach.accept(event);
    }

    /** The position of the next event to come. */
    synchronized int mark() {
        return events.size();
    }

    /** The first event at or after {@code from} that matches, waiting at most {@code timeout} for it. */
    synchronized Optional<PeerEvent> await(int from, Predicate<PeerEvent> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int checked = from;
        while (true) {
            for (; checked < events.size(); checked++) {
                if (match.test(events.get(checked))) {
                    return Optional.of(events.get(checked));
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    /** The events at or after {@code from} that match, as of now. */
    synchronized List<PeerEvent> since(int from, Predicate<PeerEvent> match) {
        List<PeerEvent> found = new ArrayList<>();
        for (int i = from; i < events.size(); i++) {
            if (match.test(events.get(i))) {
                found.add(events.get(i));
            }
        }
        return found;
    }

    /** Matches events of {@code type} for the identity whose text is {@code identity}. */
    static Predicate<PeerEvent> is(PeerEvent.Type type, String identity) {
        return e -> e.type() == type && e.identity().toString().equals(identity);
    }

    /** Matches every event for the identity whose text is {@code identity}. */
    static Predicate<PeerEvent> about(String identity) {
        return e -> e.identity().toString().equals(identity);
    }
}
