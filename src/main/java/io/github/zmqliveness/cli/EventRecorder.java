package io.github.zmqliveness.cli;

import io.github.zmqliveness.PeerEvent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Keeps every event of one source in the demo (the router's peer events, or one client's
 * events), in order, and lets the script wait for the one that reports a fault. Positions
 * ({@link #mark()}) rather than times say "since the fault", so a clock step cannot hide an event.
 * Thread-safe; {@link #record} is the listener ({@code recorder::record}).
 */
final class EventRecorder<E> {
    private final List<E> events = new ArrayList<>();
    private final Consumer<E> onEach;

    /** {@code onEach} sees every event as it arrives (on the listener's thread). */
    EventRecorder(Consumer<E> onEach) {
        this.onEach = onEach;
    }

    void record(E event) {
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
    synchronized Optional<E> await(int from, Predicate<? super E> match, Duration timeout) throws InterruptedException {
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
    synchronized List<E> since(int from, Predicate<? super E> match) {
        List<E> found = new ArrayList<>();
        for (int i = from; i < events.size(); i++) {
            if (match.test(events.get(i))) {
                found.add(events.get(i));
            }
        }
        return found;
    }

    /** Matches peer events of {@code type} for the identity whose text is {@code identity}. */
    static Predicate<PeerEvent> is(PeerEvent.Type type, String identity) {
        return e -> e.type() == type && String.valueOf(e.identity()).equals(identity);
    }

    /** Matches every peer event for the identity whose text is {@code identity}. */
    static Predicate<PeerEvent> about(String identity) {
        return e -> String.valueOf(e.identity()).equals(identity);
    }
}
