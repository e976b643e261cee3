package io.github.zmqliveness.cli;

import io.github.zmqliveness.EvictReason;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerSnapshot;
import io.github.zmqliveness.PeerState;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * {@code demo}: one process, about 30 seconds. A router and a handful of plain DEALER clients on
 * 127.0.0.1; four scripted faults, one after the other, each timed from the fault to the event
 * that reports it; a live peer table meanwhile; a summary at the end. Exit code 0 when every
 * fault was detected as expected and the healthy client was never disturbed.
 */
final class DemoCommand {
    private static final Duration HEARTBEAT = Duration.ofMillis(500);
    private static final int LIVENESS = 3;
    /** interval x liveness + interval: what the router promises for a dead or frozen peer. */
    private static final Duration DETECTION_BOUND = HEARTBEAT.multipliedBy(LIVENESS + 1);
    /** Past the bound, so that a late detection is reported as late rather than as missing. */
    private static final Duration EVENT_WAIT = DETECTION_BOUND.plusSeconds(3);
    private static final Duration JOIN_WAIT = Duration.ofSeconds(5);
    /** The router's default conflict window: 3 takeovers within it make a conflict. */
    private static final Duration CONFLICT_WAIT = Duration.ofSeconds(10);
    /** How soon after a takeover the old connection must be gone (the ZMTP heartbeat alone would take longer). */
    private static final Duration ZOMBIE_WAIT = Duration.ofMillis(500);
    /** How long the moved laptop is watched for a relapse (a second takeover, a conflict, an eviction). */
    private static final Duration SETTLE_WATCH = Duration.ofSeconds(2);
    private static final Duration TICK = Duration.ofMillis(500);
    private static final Duration BETWEEN_FAULTS = Duration.ofSeconds(5);
    private static final Duration HARD_LIMIT = Duration.ofSeconds(58);
    private static final Set<EvictReason> DEAD_LINK = EnumSet.of(EvictReason.TRANSPORT_LOST, EvictReason.HEARTBEAT_TIMEOUT);

    private final PrintStream out;
    private final PrintStream err;
    private final long startNanos = System.nanoTime();
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final MessageTally tally = new MessageTally();
    private LiveView view;
    private EventRecorder recorder;
    private LivenessRouter router;
    private Map<String, Long> finalCounters = Map.of();

    DemoCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** The demo takes no options; true if help was asked for. */
    static boolean parseHelp(List<String> args) throws UsageException {
        OptionReader options = new OptionReader("demo", args);
        while (options.advance()) {
            if (options.name().equals("--help") || options.name().equals("-h")) {
                return true;
            }
            throw options.unknown();
        }
        return false;
    }

    int run() {
        quietLibraryLog();
        view = new LiveView(out, System.console() != null, startNanos);
        recorder = new EventRecorder(view::event);
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "demo-timer");
            t.setDaemon(true);
            return t;
        });
        timers.schedule(this::overran, HARD_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        List<FaultResult> results = new ArrayList<>();
        try {
            runScript(results, timers);
        } catch (Exception e) {
            err.println("demo: the script failed: " + e);
            e.printStackTrace(err);
            results.add(new FaultResult("demo script", "runs to the end", e.toString(), null, false));
        } finally {
            view.finish();
            timers.shutdownNow();
            closeAll();
        }
        return printSummary(results) ? Main.EXIT_OK : Main.EXIT_FAILED;
    }

    private void runScript(List<FaultResult> results, ScheduledExecutorService timers) throws Exception {
        router = own(LivenessRouter.builder()
                .bind("tcp://127.0.0.1:*")
                .heartbeatInterval(HEARTBEAT)
                .liveness(LIVENESS)
                .listener(recorder)
                .handler(tally)
                .build());
        String endpoint = router.endpoints().get(0);
        view.note("router bound to " + endpoint + ", heartbeat " + Durations.format(HEARTBEAT) + " x liveness " + LIVENESS
                + ": a dead or frozen peer is due out within " + DETECTION_BOUND.toMillis() + "ms");
        timers.scheduleAtFixedRate(this::drawFrame, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);

        TcpProxy sleeperLink = own(TcpProxy.to(endpoint));
        TcpProxy laptopOldLink = own(TcpProxy.to(endpoint));
        TcpProxy laptopNewLink = own(TcpProxy.to(endpoint));
        SimulatedClient steady = own(new SimulatedClient("steady", "steady", endpoint));
        SimulatedClient crasher = own(new SimulatedClient("crasher", "crasher", endpoint));
        SimulatedClient sleeper = own(new SimulatedClient("sleeper", "sleeper", sleeperLink.endpoint()));
        SimulatedClient laptop = own(new SimulatedClient("laptop", "laptop", laptopOldLink.endpoint()));
        SimulatedClient laptopMoved = own(new SimulatedClient("laptop-2", "laptop", laptopNewLink.endpoint()));
        SimulatedClient twinA = own(new SimulatedClient("twin-a", "twin", endpoint));
        SimulatedClient twinB = own(new SimulatedClient("twin-b", "twin", endpoint));

        int start = recorder.mark();
        view.note("starting steady, crasher, sleeper (through a proxy), laptop (through a proxy) and twin-a (identity 'twin')");
        for (SimulatedClient c : Arrays.asList(steady, crasher, sleeper, laptop, twinA)) {
            c.start();
        }
        awaitJoins(start, Arrays.asList("steady", "crasher", "sleeper", "laptop", "twin"));
        pause(BETWEEN_FAULTS);

        results.add(report(crash(crasher)));
        pause(BETWEEN_FAULTS);
        results.add(report(freeze(sleeper, sleeperLink)));
        pause(BETWEEN_FAULTS);
        results.add(report(move(laptop, laptopOldLink, laptopMoved)));
        pause(BETWEEN_FAULTS);
        results.add(report(share(twinB)));
        pause(BETWEEN_FAULTS);
        results.add(report(checkSteady(start)));
        drawFrame();
        finalCounters = router.stats().asMap();
    }

    private FaultResult report(FaultResult result) {
        view.note(result.fault + ": " + result.seen + (result.millis != null ? " after " + result.millis + "ms" : "")
                + " -> " + (result.pass ? "PASS" : "FAIL"));
        return result;
    }

    // ------------------------------------------------------------------ the faults

    /** (a) A process dies: its socket is dropped with nothing flushed. */
    private FaultResult crash(SimulatedClient crasher) throws InterruptedException {
        view.note("(a) crasher drops its socket abruptly; expecting evicted transport_lost");
        int mark = recorder.mark();
        Instant at = crasher.crash();
        Optional<PeerEvent> seen = recorder.await(mark, gone("crasher"), EVENT_WAIT);
        return judgeEviction("(a) crasher: socket dropped", "evicted transport_lost <= " + DETECTION_BOUND.toMillis() + "ms",
                at, seen, EnumSet.of(EvictReason.TRANSPORT_LOST));
    }

    /** (b) A link dies without FIN or RST: the proxy keeps both connections open and moves nothing. */
    private FaultResult freeze(SimulatedClient sleeper, TcpProxy link) throws InterruptedException {
        view.note("(b) sleeper's link freezes (open, silent both ways); expecting evicted within " + DETECTION_BOUND.toMillis() + "ms");
        int mark = recorder.mark();
        Instant at = Instant.now();
        link.freeze();
        Optional<PeerEvent> seen = recorder.await(mark, gone("sleeper"), EVENT_WAIT);
        FaultResult result = judgeEviction("(b) sleeper: link frozen", "evicted transport_lost <= " + DETECTION_BOUND.toMillis() + "ms",
                at, seen, DEAD_LINK);
        // Done with it: its reconnect attempts through the frozen link would only pile up half-open connections.
        sleeper.close();
        link.close();
        return result;
    }

    /**
     * (c) A laptop changes network: the old link goes silent (frozen, not closed) and the same
     * identity arrives from a new address before the old link is found dead; the old socket is
     * then abandoned.
     */
    private FaultResult move(SimulatedClient laptop, TcpProxy oldLink, SimulatedClient moved) throws InterruptedException {
        String name = "(c) laptop: new address";
        String expected = "took_over (no conflict); 1 connection after";
        view.note("(c) laptop's link freezes and laptop reconnects from a new address; expecting took_over, not conflict");
        Identity id = Identity.of("laptop");
        int connectionsBefore = router.connectionCount(); // counts the old link, which the takeover must replace
        long zombiesBefore = router.stats().get("zombiesShut");
        int mark = recorder.mark();
        oldLink.freeze();
        Instant at = Instant.now();
        moved.start();
        Optional<PeerEvent> first = recorder.await(mark, EventRecorder.about("laptop"), EVENT_WAIT);
        laptop.abandon();
        if (!first.isPresent()) {
            return new FaultResult(name, expected, "nothing within " + EVENT_WAIT.toMillis() + "ms", null, false);
        }
        PeerEvent took = first.get();
        long millis = millisBetween(at, took.time());
        if (took.type() != PeerEvent.Type.TOOK_OVER) {
            return new FaultResult(name, expected, describe(took) + " instead", millis, false);
        }
        boolean oldShut = awaitTrue(() -> router.connectionCount() == connectionsBefore, ZOMBIE_WAIT)
                && router.stats().get("zombiesShut") == zombiesBefore + 1;
        pause(SETTLE_WATCH);

        List<String> problems = new ArrayList<>();
        if (!oldShut) {
            problems.add("old connection not shut within " + ZOMBIE_WAIT.toMillis() + "ms (" + router.connectionCount()
                    + " connections, " + connectionsBefore + " expected)");
        }
        List<PeerEvent> after = recorder.since(mark, EventRecorder.about("laptop"));
        if (after.size() > 1) {
            problems.add("then " + describe(after.get(1)));
        }
        Optional<PeerSnapshot> row = router.peer(id);
        if (!row.isPresent() || row.get().state() != PeerState.ALIVE || !took.address().equals(row.get().address())) {
            problems.add("table row " + row.map(PeerSnapshot::toString).orElse("missing"));
        }
        if (!took.address().equals(tally.lastAddress(id))) {
            problems.add("last message came from " + tally.lastAddress(id));
        }
        String seen = problems.isEmpty() ? "took_over; old connection shut, 1 left; no conflict" : "took_over; " + String.join("; ", problems);
        return new FaultResult(name, expected, seen, millis, problems.isEmpty());
    }

    /** (d) Two live clients share one identity and keep taking it from each other. */
    private FaultResult share(SimulatedClient twinB) throws InterruptedException {
        String name = "(d) twin-a/twin-b: one identity";
        String expected = "conflict, then evicted conflict";
        view.note("(d) twin-b starts with twin-a's identity 'twin', both keep reconnecting and sending; expecting conflict");
        int mark = recorder.mark();
        Instant at = Instant.now();
        twinB.start();
        Optional<PeerEvent> conflict = recorder.await(mark, EventRecorder.is(PeerEvent.Type.CONFLICT, "twin"), CONFLICT_WAIT);
        if (!conflict.isPresent()) {
            List<PeerEvent> events = recorder.since(mark, EventRecorder.about("twin"));
            return new FaultResult(name, expected, "no conflict within " + CONFLICT_WAIT.toMillis() + "ms (" + events.size()
                    + " events for twin)", null, false);
        }
        Optional<PeerEvent> evicted = recorder.await(mark,
                EventRecorder.is(PeerEvent.Type.EVICTED, "twin").and(e -> e.reason() == EvictReason.CONFLICT), Duration.ofSeconds(1));
        int takeovers = recorder.since(mark, EventRecorder.is(PeerEvent.Type.TOOK_OVER, "twin")).size();
        Optional<PeerSnapshot> row = router.peer(Identity.of("twin"));
        boolean quarantined = row.isPresent() && row.get().state() == PeerState.QUARANTINED;
        String seen = takeovers + " took_over, conflict, " + (evicted.isPresent() ? "evicted conflict" : "no evicted conflict")
                + (quarantined ? "; quarantined" : "; not quarantined");
        return new FaultResult(name, expected, seen, millisBetween(at, conflict.get().time()), evicted.isPresent() && quarantined);
    }

    /** The control: a client that never failed must never have been disturbed. */
    private FaultResult checkSteady(int start) {
        Identity id = Identity.of("steady");
        List<PeerEvent> events = recorder.since(start, EventRecorder.about("steady"));
        Optional<PeerSnapshot> row = router.peer(id);
        boolean onlyJoined = events.size() == 1 && events.get(0).type() == PeerEvent.Type.JOINED;
        boolean alive = row.isPresent() && row.get().state() == PeerState.ALIVE;
        long messages = tally.count(id);
        StringBuilder seen = new StringBuilder(alive ? "alive" : "not alive");
        seen.append(", ").append(messages).append(" messages, events:");
        for (PeerEvent e : events) {
            seen.append(' ').append(PeerEventJson.snakeCase(e.type()));
        }
        return new FaultResult("steady: no fault", "joined once, never evicted", seen.toString(), null, onlyJoined && alive && messages > 0);
    }

    // ------------------------------------------------------------------ helpers

    private FaultResult judgeEviction(String name, String expected, Instant at, Optional<PeerEvent> seen, Set<EvictReason> reasons) {
        if (!seen.isPresent()) {
            return new FaultResult(name, expected, "nothing within " + EVENT_WAIT.toMillis() + "ms", null, false);
        }
        PeerEvent e = seen.get();
        long millis = millisBetween(at, e.time());
        boolean pass = e.type() == PeerEvent.Type.EVICTED && reasons.contains(e.reason()) && millis <= DETECTION_BOUND.toMillis();
        return new FaultResult(name, expected, describe(e), millis, pass);
    }

    private void awaitJoins(int from, List<String> identities) throws InterruptedException {
        long deadline = System.nanoTime() + JOIN_WAIT.toNanos();
        List<String> missing = new ArrayList<>();
        for (String id : identities) {
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            if (!recorder.await(from, EventRecorder.is(PeerEvent.Type.JOINED, id), left).isPresent()) {
                missing.add(id);
            }
        }
        view.note(missing.isEmpty() ? "all clients joined" : "did not join within " + JOIN_WAIT.toMillis() + "ms: " + missing);
    }

    /** Every event that takes an identity out of the table. */
    private static Predicate<PeerEvent> gone(String identity) {
        return EventRecorder.about(identity).and(e -> e.type() == PeerEvent.Type.EVICTED || e.type() == PeerEvent.Type.LEFT);
    }

    private static String describe(PeerEvent e) {
        return PeerEventJson.snakeCase(e.type()) + (e.reason() != null ? " " + PeerEventJson.snakeCase(e.reason()) : "");
    }

    private static long millisBetween(Instant from, Instant to) {
        return Duration.between(from, to).toMillis();
    }

    private static boolean awaitTrue(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
        return true;
    }

    private static void pause(Duration d) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(d.toNanos());
    }

    private void drawFrame() {
        try {
            view.draw(new LiveView.Frame(router.peers(), router.connectionCount(), tally));
        } catch (RuntimeException e) {
            // A failed tick must not cancel the ones after it.
            err.println("demo: drawing the peer table failed: " + e);
        }
    }

    private boolean printSummary(List<FaultResult> results) {
        long faults = results.stream().filter(r -> r.fault.startsWith("(")).count();
        long detected = results.stream().filter(r -> r.fault.startsWith("(") && r.pass).count();
        boolean pass = !results.isEmpty() && results.stream().allMatch(r -> r.pass);
        view.println("");
        view.println("summary (router heartbeat " + Durations.format(HEARTBEAT) + " x liveness " + LIVENESS
                + "; dead or frozen peers are due out within " + DETECTION_BOUND.toMillis() + "ms; times from the fault to its event)");
        view.println(FaultResult.header());
        for (FaultResult r : results) {
            view.println(r.line());
        }
        StringBuilder counters = new StringBuilder("router counters (non-zero):");
        finalCounters.forEach((name, value) -> {
            if (value != 0) {
                counters.append(' ').append(name).append('=').append(value);
            }
        });
        view.println(counters.toString());
        view.println(String.format(Locale.ROOT, "result: %s (%d/%d faults detected as expected) in %.1f s", pass ? "PASS" : "FAIL",
                detected, faults, (System.nanoTime() - startNanos) / 1e9));
        return pass;
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    /** The router first, so the clients' goodbyes do not show up as evictions; then the rest, newest first. */
    private void closeAll() {
        if (router != null) {
            router.close();
        }
        while (!owned.isEmpty()) {
            AutoCloseable resource = owned.pop();
            try {
                resource.close();
            } catch (Exception e) {
                err.println("demo: closing " + resource + " failed: " + e);
            }
        }
    }

    private void overran() {
        err.println("demo: still running after " + HARD_LIMIT.toSeconds() + " s; giving up");
        err.flush();
        Runtime.getRuntime().halt(Main.EXIT_FAILED);
    }

    /** The demo tells its own story on stdout; the library's info lines would only get in its way. */
    private static void quietLibraryLog() {
        String key = "org.slf4j.simpleLogger.defaultLogLevel";
        if (System.getProperty(key) == null) {
            System.setProperty(key, "warn");
        }
    }
}
