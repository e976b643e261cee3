package io.github.zmqliveness.cli;

import io.github.zmqliveness.ClientState;
import io.github.zmqliveness.ClientEvent;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * {@code demo}: one process, about 30 seconds. A router and a handful of clients on 127.0.0.1,
 * some of them plain JeroMQ DEALERs (which the router serves unmodified), some of them
 * {@link io.github.zmqliveness.DealerClient}s (which also watch the server themselves); four
 * scripted faults, one after the other, each timed from the fault to the event that reports it;
 * a live peer table meanwhile; a summary at the end. Exit code 0 when every fault was detected
 * as expected, by the router and, for DealerClients, by the client too, and the healthy clients
 * were never disturbed.
 */
final class DemoCommand {
    /**
     * The router's heartbeat, which the clients use too. One second, the library's default: its
     * transport timeout (half of it) is long enough that a loaded machine seldom makes healthy
     * peers in this one process look dead to each other (at 500 ms it often did, on 2 busy cores).
     */
    static final Duration HEARTBEAT = Duration.ofSeconds(1);
    private static final int LIVENESS = 3;
    /** interval x liveness + interval: what the router promises for a dead or frozen peer, and the client for a dead or frozen server. */
    private static final Duration DETECTION_BOUND = HEARTBEAT.multipliedBy(LIVENESS + 1);
    /** Past the bound, so that a late detection is reported as late rather than as missing. */
    private static final Duration EVENT_WAIT = DETECTION_BOUND.plusSeconds(3);
    private static final Duration JOIN_WAIT = Duration.ofSeconds(5);
    /** How long twin-b's refusal may take (its first HELLO, or a later one after a stuck handshake). */
    private static final Duration CONFLICT_WAIT = Duration.ofSeconds(10);
    /** How soon after a takeover the old connection must be gone (the ZMTP heartbeat alone would take longer). */
    private static final Duration ZOMBIE_WAIT = Duration.ofSeconds(1);
    /** How long the moved laptop is watched for a relapse (a second takeover, a conflict, an eviction). */
    private static final Duration SETTLE_WATCH = Duration.ofSeconds(2);
    private static final Duration TICK = Duration.ofMillis(500);
    /** How long the frozen link stays frozen once both sides have noticed, so the client retries into it for a while. */
    private static final Duration FROZEN_HOLD = Duration.ofSeconds(1);
    /** Time for a DealerClient to rejoin once its link is back (its backoff is at most 1 s, its handshake 1 s). */
    private static final Duration REJOIN_WAIT = Duration.ofSeconds(8);
    /** Time for twin-a to be back in its session after twin-b's claim. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);
    /** How long twin-a is given to notice that twin-b's handshake took its connection, when it does (within ms when unloaded). */
    private static final Duration LOSS_NOTICE = Duration.ofMillis(500);
    private static final Duration BETWEEN_FAULTS = Duration.ofSeconds(5);
    private static final Duration HARD_LIMIT = Duration.ofSeconds(58);
    private static final Set<EvictReason> DEAD_LINK = EnumSet.of(EvictReason.TRANSPORT_LOST, EvictReason.HEARTBEAT_TIMEOUT);
    /** How a DealerClient may notice a dead server: its ZMTP heartbeat closes the connection, or the server falls silent. */
    private static final Set<ClientEvent.Cause> DEAD_SERVER = EnumSet.of(ClientEvent.Cause.CONNECTION_LOST, ClientEvent.Cause.SERVER_SILENT);

    private final PrintStream out;
    private final PrintStream err;
    private final long startNanos = System.nanoTime();
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final MessageTally tally = new MessageTally();
    private LiveView view;
    private StallWatch stalls;
    /** The DealerClients, for the screen: the ticker reads it while the script adds to it. */
    private final List<SimulatedDealerClient> dealers = new CopyOnWriteArrayList<>();
    private EventRecorder<PeerEvent> recorder;
    private LivenessRouter router;
    private Map<String, Long> finalCounters = Map.of();
    private final Map<String, Map<String, Long>> finalClientCounters = new LinkedHashMap<>();

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
        stalls = new StallWatch(startNanos);
        recorder = new EventRecorder<>(view::event);
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
            stalls.close();
            closeAll();
        }
        return printSummary(results) ? Main.EXIT_OK : Main.EXIT_FAILED;
    }

    private void runScript(List<FaultResult> results, ScheduledExecutorService timers) throws Exception {
        router = own(LivenessRouter.builder()
                .bind("tcp://127.0.0.1:*")
                .heartbeatInterval(HEARTBEAT)
                .liveness(LIVENESS)
                .listener(recorder::record)
                .handler(tally)
                .build());
        String endpoint = router.endpoints().get(0);
        view.note("router bound to " + endpoint + ", heartbeat " + Durations.format(HEARTBEAT) + " x liveness " + LIVENESS
                + ": a dead or frozen peer is due out within " + DETECTION_BOUND.toMillis() + "ms");
        timers.scheduleAtFixedRate(this::drawFrame, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);

        TcpProxy sleeperLink = own(TcpProxy.to(endpoint));
        TcpProxy laptopOldLink = own(TcpProxy.to(endpoint));
        TcpProxy laptopNewLink = own(TcpProxy.to(endpoint));
        SimulatedClient steadyRaw = own(new SimulatedClient("steady-raw", "steady-raw", endpoint));
        SimulatedDealerClient steady = dealer("steady", "steady", endpoint);
        SimulatedClient crasher = own(new SimulatedClient("crasher", "crasher", endpoint));
        SimulatedDealerClient sleeper = dealer("sleeper", "sleeper", sleeperLink.endpoint());
        SimulatedClient laptop = own(new SimulatedClient("laptop", "laptop", laptopOldLink.endpoint()));
        // It must arrive before the router finds the old link dead (0.5 to 1.5 s after the freeze). Now and then a JeroMQ
        // 0.6.0 DEALER sends no greeting on a new connection until its handshake interval gives it up: a short one retries soon.
        SimulatedClient laptopMoved = own(new SimulatedClient("laptop-2", "laptop", laptopNewLink.endpoint(), Duration.ofMillis(300)));
        SimulatedDealerClient twinA = dealer("twin-a", "twin", endpoint);
        SimulatedDealerClient twinB = dealer("twin-b", "twin", endpoint);

        int start = recorder.mark();
        view.note("starting plain JeroMQ DEALERs steady-raw, crasher and laptop (through a proxy), and DealerClients steady, "
                + "sleeper (through a proxy) and twin-a (identity 'twin')");
        for (SimulatedClient c : Arrays.asList(steadyRaw, crasher, laptop)) {
            c.start();
        }
        for (SimulatedDealerClient c : Arrays.asList(steady, sleeper, twinA)) {
            c.start();
        }
        awaitJoins(start, Arrays.asList("steady-raw", "steady", "crasher", "sleeper", "laptop", "twin"), Arrays.asList(steady, sleeper, twinA));
        pause(BETWEEN_FAULTS);

        results.add(report(crash(crasher)));
        pause(BETWEEN_FAULTS);
        for (FaultResult r : freeze(sleeper, sleeperLink)) {
            results.add(report(r));
        }
        pause(BETWEEN_FAULTS);
        results.add(report(move(laptop, laptopOldLink, laptopMoved)));
        pause(BETWEEN_FAULTS);
        for (FaultResult r : share(twinA, twinB)) {
            results.add(report(r));
        }
        results.add(report(checkSteadyRaw(start)));
        results.add(report(checkSteady(start, steady)));
        drawFrame();
        finalCounters = router.stats().asMap();
        for (SimulatedDealerClient c : dealers) {
            finalClientCounters.put(c.name(), c.counters());
        }
    }

    private FaultResult report(FaultResult result) {
        view.note(result.fault + ": " + result.seen + (result.millis != null ? " [" + result.millis + "ms]" : "")
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

    /**
     * (b) A link dies without FIN or RST: the proxy keeps both connections open and moves nothing.
     * The router evicts the sleeper; the sleeper, a DealerClient, notices the dead server itself;
     * when the link comes back it rejoins on its own.
     */
    private List<FaultResult> freeze(SimulatedDealerClient sleeper, TcpProxy link) throws InterruptedException {
        view.note("(b) sleeper's link freezes (open, silent both ways); expecting the router to evict it and the client to notice, "
                + "each within " + DETECTION_BOUND.toMillis() + "ms");
        List<FaultResult> results = new ArrayList<>();
        int mark = recorder.mark();
        int clientMark = sleeper.events().mark();
        Instant at = Instant.now();
        link.freeze();
        Optional<PeerEvent> seen = recorder.await(mark, gone("sleeper"), EVENT_WAIT);
        results.add(judgeEviction("(b) sleeper: link frozen", "router: evicted transport_lost <= " + DETECTION_BOUND.toMillis() + "ms",
                at, seen, DEAD_LINK));
        Optional<ClientEvent> lost = sleeper.events().await(clientMark, is(ClientEvent.Type.DISCONNECTED), EVENT_WAIT);
        results.add(judgeClientLoss("(b) sleeper: server unheard", at, lost));

        pause(FROZEN_HOLD);
        view.note("(b) sleeper's link comes back; expecting the client to rejoin by itself");
        int rejoinMark = recorder.mark();
        int rejoinClientMark = sleeper.events().mark();
        Instant thawedAt = Instant.now();
        link.thaw();
        Optional<ClientEvent> back = sleeper.events().await(rejoinClientMark, is(ClientEvent.Type.REJOINED), REJOIN_WAIT);
        Optional<PeerEvent> joined = recorder.await(rejoinMark, EventRecorder.is(PeerEvent.Type.JOINED, "sleeper"),
                back.isPresent() ? JOIN_WAIT : Duration.ZERO);
        String name = "(b) sleeper: link back";
        String expected = "client rejoined; router: joined";
        if (!back.isPresent()) {
            List<ClientEvent> events = sleeper.events().since(rejoinClientMark, e -> true);
            return append(results, new FaultResult(name, expected, "no rejoin within " + REJOIN_WAIT.toMillis() + "ms (client "
                    + sleeper.state() + ", " + events.size() + " events)", null, false));
        }
        String seenBack = (back.get().resumed() ? "rejoined, session resumed" : "rejoined, fresh session")
                + (joined.isPresent() ? "; joined" : "; router saw no join");
        return append(results, new FaultResult(name, expected, seenBack, millisBetween(thawedAt, back.get().time()), joined.isPresent()));
    }

    /**
     * (c) A laptop changes network: the old link goes silent (frozen, not closed), the laptop drops
     * its old socket (through the frozen link the router hears nothing of it), and the same
     * identity arrives from a new address before the old link is found dead.
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
        // Dropped at once: left alone behind a frozen link, its own heartbeat would soon reconnect it through the
        // proxy, adding a connection that never finishes its handshake and would blur the count below.
        laptop.abandon();
        moved.start();
        Optional<PeerEvent> first = recorder.await(mark, EventRecorder.about("laptop"), EVENT_WAIT);
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
        // The move also ends the old connection's session and starts the new one's; any other event is a problem.
        List<PeerEvent> after = recorder.since(mark, EventRecorder.about("laptop").and(e -> !isSessionEvent(e)));
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

    /**
     * (d) A second DealerClient (another instance) claims the identity a live one holds: the router refuses the
     * newcomer (CONFLICT, with a retry-after) and the holder keeps its identity and its session; neither is stopped.
     */
    private List<FaultResult> share(SimulatedDealerClient twinA, SimulatedDealerClient twinB) throws InterruptedException {
        List<FaultResult> results = new ArrayList<>();
        String name = "(d) twin-b claims twin-a's identity";
        String expected = "refused; twin-a keeps identity and session";
        view.note("(d) twin-b, a second DealerClient, starts with twin-a's identity 'twin'; expecting it refused, twin-a undisturbed");
        int mark = recorder.mark();
        int markA = twinA.events().mark();
        int markB = twinB.events().mark();
        Optional<PeerSnapshot> before = router.peer(Identity.of("twin"));
        long refusedBefore = router.stats().get("refusedIdentityInUse");
        long conflictsBefore = router.stats().conflicts();
        Instant at = Instant.now();
        twinB.start();
        Optional<ClientEvent> told = twinB.events().await(markB,
                is(ClientEvent.Type.TOLD_TO_LEAVE).and(e -> e.reason() == ClientEvent.Reason.CONFLICT), CONFLICT_WAIT);
        long refused = router.stats().get("refusedIdentityInUse") - refusedBefore;
        long conflicts = router.stats().conflicts() - conflictsBefore;
        // twin-a may have to reconnect once (twin-b's handshake alone takes its connection): then it resumes. Its
        // client may notice that loss after twin-b was told, so twin-a is given a moment to notice before it is judged,
        // and if it lost its connection, it is waited for until it is back (READY alone can be the state before it noticed).
        pause(LOSS_NOTICE);
        long deadline = System.nanoTime() + STOP_WAIT.toNanos();
        while (System.nanoTime() < deadline && !backInSession(twinA, markA)) {
            pause(Duration.ofMillis(50));
        }
        Optional<PeerSnapshot> after = router.peer(Identity.of("twin"));
        boolean sameSession = before.isPresent() && after.isPresent() && before.get().session() != null
                && before.get().session().equals(after.get().session());
        String seen = (told.isPresent() ? "twin-b told conflict" : "twin-b not told") + ", refused " + refused + "x, "
                + conflicts + " conflicts, twin-a " + (sameSession ? "kept its session" : "lost its session");
        results.add(new FaultResult(name, expected, seen, told.map(e -> millisBetween(at, e.time())).orElse(null),
                told.isPresent() && refused > 0 && conflicts == 0 && sameSession));

        List<String> problems = new ArrayList<>();
        for (ClientEvent e : twinA.events().since(markA, e -> true)) {
            if (e.type() == ClientEvent.Type.STOPPED || e.reason() == ClientEvent.Reason.CONFLICT
                    || e.type() == ClientEvent.Type.REJOINED && !e.resumed()) {
                problems.add("twin-a " + e);
            }
        }
        if (twinA.state() != ClientState.READY) {
            problems.add("twin-a is " + twinA.state());
        }
        if (twinB.state() == ClientState.STOPPED) {
            problems.add("twin-b stopped for good");
        }
        for (PeerEvent e : recorder.since(mark, EventRecorder.about("twin"))) {
            if (e.type() == PeerEvent.Type.SESSION_ENDED || e.type() == PeerEvent.Type.CONFLICT) {
                problems.add(describe(e));
            }
        }
        twinB.close(); // the duplicate is taken away, as an operator would
        String stopSeen = problems.isEmpty() ? "twin-a ready in its session; twin-b waits and retries" : String.join("; ", problems);
        results.add(new FaultResult("(d) nobody stopped", "twin-a undisturbed; twin-b not stopped", stopSeen, null, problems.isEmpty()));
        return results;
    }

    /** Whether the client is READY and, if it lost its connection since {@code mark}, has rejoined after the last loss. */
    private static boolean backInSession(SimulatedDealerClient client, int mark) {
        List<ClientEvent> events = client.events().since(mark,
                e -> e.type() == ClientEvent.Type.DISCONNECTED || e.type() == ClientEvent.Type.REJOINED);
        boolean lastIsLoss = !events.isEmpty() && events.get(events.size() - 1).type() == ClientEvent.Type.DISCONNECTED;
        return client.state() == ClientState.READY && !lastIsLoss;
    }

    /** The control: a plain DEALER that never failed must never have been disturbed. */
    private FaultResult checkSteadyRaw(int start) {
        Identity id = Identity.of("steady-raw");
        List<PeerEvent> events = recorder.since(start, EventRecorder.about("steady-raw"));
        Optional<PeerSnapshot> row = router.peer(id);
        boolean onlyJoined = joinedOnceWithOneSession(events);
        boolean alive = row.isPresent() && row.get().state() == PeerState.ALIVE;
        long messages = tally.count(id);
        String seen = (alive ? "alive" : "not alive") + ", " + messages + " messages, events:" + names(events);
        return new FaultResult("steady-raw: no fault", "joined once, never evicted", seen, null, onlyJoined && alive && messages > 0);
    }

    /** The control: a DealerClient that never failed was never disturbed, on either side. */
    private FaultResult checkSteady(int start, SimulatedDealerClient steady) {
        Identity id = Identity.of("steady");
        List<PeerEvent> events = recorder.since(start, EventRecorder.about("steady"));
        List<ClientEvent> own = steady.events().since(0, e -> true);
        Optional<PeerSnapshot> row = router.peer(id);
        boolean onlyJoined = joinedOnceWithOneSession(events);
        boolean onlyConnected = own.size() == 1 && own.get(0).type() == ClientEvent.Type.CONNECTED;
        boolean alive = row.isPresent() && row.get().state() == PeerState.ALIVE && row.get().heartbeating();
        boolean ready = steady.state() == ClientState.READY;
        long messages = tally.count(id);
        StringBuilder seen = new StringBuilder(alive ? "alive" : "not alive").append(", ").append(messages)
                .append(" messages, events:").append(names(events)).append("; client ").append(steady.state()).append(", events:");
        for (ClientEvent e : own) {
            seen.append(' ').append(PeerEventJson.snakeCase(e.type()));
        }
        return new FaultResult("steady: no fault", "joined/connected once, nothing else", seen.toString(), null,
                onlyJoined && onlyConnected && alive && ready && messages > 0);
    }

    // ------------------------------------------------------------------ helpers

    private static boolean isSessionEvent(PeerEvent e) {
        return e.type() == PeerEvent.Type.SESSION_STARTED || e.type() == PeerEvent.Type.SESSION_RESUMED
                || e.type() == PeerEvent.Type.SESSION_ENDED;
    }

    /** Undisturbed: joined, its one session started, and nothing else. */
    private static boolean joinedOnceWithOneSession(List<PeerEvent> events) {
        return events.size() == 2 && events.get(0).type() == PeerEvent.Type.JOINED
                && events.get(1).type() == PeerEvent.Type.SESSION_STARTED;
    }

    private FaultResult judgeEviction(String name, String expected, Instant at, Optional<PeerEvent> seen, Set<EvictReason> reasons) {
        if (!seen.isPresent()) {
            return new FaultResult(name, expected, "nothing within " + EVENT_WAIT.toMillis() + "ms", null, false);
        }
        PeerEvent e = seen.get();
        long millis = millisBetween(at, e.time());
        boolean pass = e.type() == PeerEvent.Type.EVICTED && reasons.contains(e.reason()) && millis <= DETECTION_BOUND.toMillis();
        return new FaultResult(name, expected, describe(e), millis, pass);
    }

    /** A DealerClient's side of a dead server: a {@code disconnected} event soon enough, for a cause that means the server is unheard. */
    private FaultResult judgeClientLoss(String name, Instant at, Optional<ClientEvent> seen) {
        String expected = "client: disconnected <= " + DETECTION_BOUND.toMillis() + "ms";
        if (!seen.isPresent()) {
            return new FaultResult(name, expected, "nothing within " + EVENT_WAIT.toMillis() + "ms", null, false);
        }
        ClientEvent e = seen.get();
        long millis = millisBetween(at, e.time());
        boolean pass = DEAD_SERVER.contains(e.cause()) && millis <= DETECTION_BOUND.toMillis();
        return new FaultResult(name, expected, "disconnected " + PeerEventJson.snakeCase(e.cause()), millis, pass);
    }

    /** Waits for the router to report every identity joined, and each DealerClient to report itself connected. */
    private void awaitJoins(int from, List<String> identities, List<SimulatedDealerClient> clients) throws InterruptedException {
        long deadline = System.nanoTime() + JOIN_WAIT.toNanos();
        List<String> missing = new ArrayList<>();
        for (String id : identities) {
            if (!recorder.await(from, EventRecorder.is(PeerEvent.Type.JOINED, id), left(deadline)).isPresent()) {
                missing.add(id);
            }
        }
        for (SimulatedDealerClient c : clients) {
            if (!c.events().await(0, is(ClientEvent.Type.CONNECTED), left(deadline)).isPresent()) {
                missing.add(c.name() + " (client side)");
            }
        }
        view.note(missing.isEmpty() ? "all clients joined" : "did not join within " + JOIN_WAIT.toMillis() + "ms: " + missing);
    }

    /** A DealerClient with the router's heartbeat settings, its events on the screen, closed at the end. */
    private SimulatedDealerClient dealer(String name, String identity, String endpoint) {
        SimulatedDealerClient c = own(new SimulatedDealerClient(name, identity, endpoint, HEARTBEAT, LIVENESS, view::clientEvent));
        dealers.add(c);
        return c;
    }

    private static Predicate<ClientEvent> is(ClientEvent.Type type) {
        return e -> e.type() == type;
    }

    private static Duration left(long deadlineNanos) {
        return Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    }

    private static List<FaultResult> append(List<FaultResult> results, FaultResult result) {
        results.add(result);
        return results;
    }

    private static String names(List<PeerEvent> events) {
        StringBuilder sb = new StringBuilder();
        for (PeerEvent e : events) {
            sb.append(' ').append(PeerEventJson.snakeCase(e.type()));
        }
        return sb.toString();
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
            List<LiveView.ClientRow> clients = new ArrayList<>();
            for (SimulatedDealerClient c : dealers) {
                clients.add(new LiveView.ClientRow(c.name(), c.identity(), c.state(), c.session(),
                        c.counters().getOrDefault("reconnects", 0L), c.sent()));
            }
            view.draw(new LiveView.Frame(router.peers(), router.connectionCount(), tally, clients));
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
                + "; a dead or frozen peer or server is due to be noticed within " + DETECTION_BOUND.toMillis()
                + "ms; times from the fault to its event)");
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
        finalClientCounters.forEach((name, values) -> {
            StringBuilder line = new StringBuilder("client " + name + " counters (non-zero):");
            values.forEach((key, value) -> {
                if (value != 0) {
                    line.append(' ').append(key).append('=').append(value);
                }
            });
            view.println(line.toString());
        });
        long stall = stalls.longestMillis();
        long zmtpTimeout = HEARTBEAT.toMillis() / 2;
        view.println(String.format(Locale.ROOT, "longest stall of this process (a watch thread woke that late): %d ms at t=%.1f s%s", stall,
                stalls.longestAtSeconds(), stall < zmtpTimeout ? "" : "; longer than the " + zmtpTimeout + "ms transport heartbeat "
                        + "timeout: the machine is overloaded, and peers in this process may have looked dead to each other then"));
        view.println(String.format(Locale.ROOT, "result: %s (%d/%d fault checks as expected) in %.1f s", pass ? "PASS" : "FAIL",
                detected, faults, (System.nanoTime() - startNanos) / 1e9));
        return pass;
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    /** The router first, so the clients' goodbyes do not show up as evictions; then the rest, newest first (the screen shows none of it). */
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
