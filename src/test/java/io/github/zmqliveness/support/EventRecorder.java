package io.github.zmqliveness.support;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerListener;
import io.github.zmqliveness.Stall;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.stream.Collectors;


/** A listener that keeps every event with the monotonic time it arrived. */
public final class EventRecorder implements PeerListener {
    public static final class Seen {
        public final PeerEvent event;
        public final long nanos;

        Seen(PeerEvent event, long nanos) {
            this.event = event;
            this.nanos = nanos;
        }
    }

    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** The router's own stalls, as reported. */
    public final List<Stall> stalls = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(PeerEvent event) {
        seen.add(new Seen(event, System.nanoTime()));
    }

    @Override
    public void onStall(Stall stall) {
        stalls.add(stall);
    }

    public List<PeerEvent> events() {
        return seen.stream().map(s -> s.event).collect(Collectors.toList());
    }

    public List<PeerEvent> of(Identity id) {
        return events().stream().filter(e -> id.equals(e.identity())).collect(Collectors.toList());
    }

    public long count(PeerEvent.Type type, Identity id) {
        return of(id).stream().filter(e -> e.type() == type).count();
    }

    public Optional<Seen> first(Predicate<PeerEvent> p, long afterNanos) {
        return seen.stream().filter(s -> s.nanos >= afterNanos && p.test(s.event)).findFirst();
    }

    /** Waits for an event matching {@code p} that arrived at or after {@code afterNanos}. */
    public Seen await(Predicate<PeerEvent> p, long afterNanos, Duration atMost) {
        return org.awaitility.Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(5))
                .until(() -> first(p, afterNanos), Optional::isPresent).get();
    }

    public Seen awaitType(PeerEvent.Type type, Identity id, long afterNanos, Duration atMost) {
        return await(e -> e.type() == type && id.equals(e.identity()), afterNanos, atMost);
    }

    public Seen awaitEvicted(Identity id, long afterNanos, Duration atMost) {
        return awaitType(PeerEvent.Type.EVICTED, id, afterNanos, atMost);
    }

    public static Predicate<PeerEvent> evicted(Identity id, EvictReason reason) {
        return e -> e.type() == PeerEvent.Type.EVICTED && e.identity().equals(id) && e.reason() == reason;
    }

    public void clear() {
        seen.clear();
    }
}
