package io.github.zmqliveness;

import io.github.zmqliveness.protocol.Command;
import io.github.zmqliveness.support.Dealers;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Net;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;
import zmq.io.mechanism.curve.Curve;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bounded fuzzing harness. Hostile inputs are thrown, over loopback, at a live {@link LivenessRouter} (and at a second
 * one built with CURVE) while well-behaved clients keep talking to it; at the end nothing has crashed, no live client
 * was disturbed, and every hostile connection, file descriptor, thread and byte of heap it cost is gone.
 *
 * <p><b>Inputs</b> (one TCP connection each unless said), drawn by weight ({@link Kind}):
 * <ul>
 * <li>{@code RANDOM_BYTES}: 0 to 4 KiB of random bytes, some after a 0xFF or a whole ZMTP signature;</li>
 * <li>{@code ZMTP3}: half of them a clean NULL handshake as a DEALER (the router's greeting awaited before the READY), then
 * frames, ZMTP PINGs and ZLP commands, the last item sometimes wild: what gets past the handshake; the other half a
 * ZMTP 3.0/3.1 greeting (NULL, or CURVE, PLAIN, garbage as mechanism), cut or mutated, then a READY (or another
 * command) mutated or with a huge declared length, then traffic: frames, ZMTP PINGs (odd TTLs, short bodies), unknown
 * commands, frames with huge declared lengths, junk; a quarter of those written in one go with the greeting;</li>
 * <li>{@code LEGACY}: ZMTP 1.0 and 2.0 greetings with an identity and a message, some mutated or cut: all must be refused
 * and never join;</li>
 * <li>{@code CURVE_RAW}, at the CURVE router: CURVE greetings and HELLO commands with random boxes, or a valid HELLO
 * (real crypto box, made with JeroMQ's {@link Curve}) followed by a random INITIATE or by silence; mutated, cut, or
 * with a huge declared length;</li>
 * <li>{@code CURVE_DEALER}: JeroMQ DEALERs at the CURVE router with an unknown key, a wrong server key, or no CURVE
 * at all, some claiming the live client's routing id "good": none may ever be served;</li>
 * <li>{@code ZLP_COMMANDS}: a JeroMQ DEALER (routing id absent, 0x00-prefixed, 255 bytes, shared by several inputs, or
 * random) sends 1 to 4 messages whose first frame is a ZLP command from {@link Command} (HELLO, HEARTBEAT, BYE, DATA,
 * and the server-only WELCOME and DISCONNECT), valid, bit-flipped, cut, extended, or with its version or command byte
 * changed, some with more frames after it; then a probe, whose echo is awaited for 300 ms;</li>
 * <li>{@code OVERSIZED}: a frame above {@code maxMessageSize} (64 KiB) from a DEALER, a message of frames each under it
 * but together above it, or a raw frame header declaring a huge length;</li>
 * <li>{@code FLOOD}: connect and close at once (some after a few bytes, some with a reset);</li>
 * <li>{@code TRICKLE}: besides, five connections at a time send a greeting one byte every 100 to 300 ms (or nothing):
 * the router's {@code handshakeInterval} (1 s) must close each.</li>
 * </ul>
 * Raw connections are handed to one watcher thread that reads and drops what the router sends and checks that the
 * router closes each within handshake interval + ZMTP PING interval and timeout + 5 s of its last byte. 24 worker threads
 * run inputs concurrently.
 *
 * <p><b>Live clients</b>, meanwhile: five {@link DealerClient}s (200 ms x 3) and two plain JeroMQ DEALERs at the main
 * router, one CURVE {@link DealerClient} ("good") at the CURVE router, each sending a numbered message every 50 to 100 ms
 * that the router echoes back. At the end: no EVICTED (nor second JOINED) event for them, no connection lost, every echo
 * back, in order.
 *
 * <p><b>Checks</b> (all collected, then reported together; the fuzzing itself stops early once the router is plainly
 * broken: a live client disturbed, 50 connects failed, or direct memory 512 MiB above the baseline, since by then the
 * test has failed and going on would only bury the first cause and take minutes): no loop error on either router, no uncaught exception on
 * any thread, no exception printed by a JeroMQ I/O thread (JeroMQ prints what its I/O threads catch to standard error,
 * which this test taps); no legacy peer joined; no CURVE intruder served; every raw connection closed by the router
 * within its bound, every trickle within handshake interval + 3 s; the routers' connection counts back to the live
 * clients' within handshake interval + 10 s; a fresh client served after the fuzzing; file descriptors (/proc/self/fd),
 * threads, heap after GC and direct memory back to the baseline taken before the fuzzing, within margins
 * ({@value #FD_MARGIN} fds, {@value #THREAD_MARGIN} threads, 64 MiB of heap, 64 MiB of direct memory, which is also
 * the bound on its peak during the fuzzing: with a 64 KiB message limit the router has no reason to hold more); after
 * closing everything, threads and fds back to what they were before the routers were built, and each router's
 * accounting balanced.
 *
 * <p><b>Running.</b> Default run, 20,000 inputs (the fuzzing stops at 75 s whatever the count); on a 2-core machine about
 * 40 s of fuzzing and 50 s in all when the router holds up: {@code mvn -o -B -q test -Dtest=FuzzTest}. The same test reads {@code -Dfuzz.inputs=N} and {@code -Dfuzz.seconds=S}
 * (whichever comes first; either alone lifts the other default). The soak variant, tagged {@code soak} and so excluded
 * by default, fuzzes for 10 minutes unless told otherwise:
 * {@code mvn -o -B test -Dgroups=soak -DexcludedGroups= -Dtest=FuzzTest [-Dfuzz.seconds=S]}. Also
 * {@code -Dfuzz.workers=N} (24).
 *
 * <p><b>Replay.</b> Input {@code n} is drawn from {@code new Random(mix(seed, n))} alone, whatever thread runs it, so
 * {@code -Dfuzz.seed=S} (the seed is printed first, and in the summary) replays a run, and
 * {@code -Dfuzz.seed=S -Dfuzz.only=n[,m...]} replays chosen inputs alone (without the tricklers). An exception that
 * JeroMQ prints is listed with the inputs written just before it, a jump of direct memory with the thread and frames
 * that allocated it.
 *
 * <p><b>Known failures, and looking past them.</b> By default {@value #DEFAULT_EXCLUDE} are left out (the JeroMQ
 * bugs below; {@code -Dfuzz.exclude=} with nothing after it puts them back). {@code -Dfuzz.exclude=TAG[,TAG...]} leaves out a kind (a
 * {@link Kind} name) or a trigger found by this harness in JeroMQ 0.6.0 as the router uses it:
 * {@code TOPBIT} (a long-form frame length with its top bit set passes JeroMQ's size checks: NegativeArraySizeException
 * on the I/O thread, or a direct buffer of up to 2 GiB whatever {@code maxMessageSize}; with it excluded, every raw
 * byte stream is read as the router would and such lengths have their top bit cleared, whether a dictionary or a
 * mutation made them), {@code SHORTPING} (a ZMTP PING shorter than 7 bytes: IndexOutOfBoundsException on the I/O
 * thread), {@code GREETSTALL} (a connection that completed the greeting exchange and then stalls in the security
 * handshake is never closed: counted, not failed, when excluded), {@code PINGTTL} (PINGs with a TTL), {@code PIPELINE}
 * (greeting and READY in one write). With {@code -Dfuzz.exclude=TOPBIT,SHORTPING,GREETSTALL} the rest passed in 2 runs
 * of 5: in the other 3 the CURVE live client lost its connection (evicted, transport lost) while {@code CURVE_RAW}
 * handshakes loaded the CURVE router; excluding {@code CURVE_RAW} too, every run passed (6 of 6, up to 55,000 inputs).
 * {@code -Dfuzz.inputs=N} counts input numbers: those drawn for an excluded kind are skipped.
 *
 * <p>Standard output goes to {@code target/surefire-reports/io.github.zmqliveness.FuzzTest-output.txt}; the summary
 * line starts with {@code fuzz summary}, and each failed check is listed after it.
 */
class FuzzTest {
    private static final Duration HEARTBEAT = Duration.ofMillis(200);
    /**
     * The CURVE router runs at the library's default heartbeat. Each CURVE handshake costs its one JeroMQ I/O thread
     * pure-Java curve25519 work (about 1.7 ms a scalar multiplication here), and at 200 ms x 3 (a ZMTP PONG deadline of
     * 150 ms) a flood of hostile HELLOs delayed the live client's PONGs enough to evict it in 3 of 5 runs.
     */
    private static final Duration CURVE_HEARTBEAT = Duration.ofSeconds(1);
    private static final int LIVENESS = 3;
    private static final Duration HANDSHAKE = Duration.ofSeconds(1);
    private static final int MAX_MESSAGE = 64 * 1024;
    /** The ZMTP PING interval and timeout the router derives from 200 ms x 3 (300 ms, 150 ms). */
    private static final Duration PING_BOUND = Duration.ofMillis(300 + 150);
    /** How long after its last byte a hostile raw connection may stay open: a loaded 2-core machine gets 5 s of slack. */
    private static final Duration RAW_BOUND = HANDSHAKE.plus(PING_BOUND).plus(Duration.ofSeconds(5));
    private static final Duration TRICKLE_BOUND = HANDSHAKE.plus(Duration.ofSeconds(3));
    private static final int LIVE_CLIENTS = 5;
    private static final int LIVE_PLAIN = 2;
    private static final int TRICKLERS = 5;
    private static final int MAX_WATCHED = 2_000;
    static final int FD_MARGIN = 16;
    static final int THREAD_MARGIN = 3;
    private static final long HEAP_MARGIN = 64L << 20;
    private static final long DIRECT_MARGIN = 64L << 20;
    private static final Identity GOOD = Identity.of("good");
    private static final Pattern EXCEPTION_LINE = Pattern.compile(
            "^(Exception in thread \"[^\"]*\" )?([a-zA-Z_$][\\w$]*\\.)+[A-Za-z_$][\\w$]*(Exception|Error)(:.*)?$");

    /** The kinds of input, with their weight in 100. */
    enum Kind {
        RANDOM_BYTES(20), ZMTP3(22), LEGACY(8), CURVE_RAW(8), CURVE_DEALER(3), ZLP_COMMANDS(20), OVERSIZED(3), FLOOD(16), TRICKLE(0);

        final int weight;

        Kind(int weight) {
            this.weight = weight;
        }

        static Kind pick(int percent) {
            int sum = 0;
            for (Kind k : values()) {
                sum += k.weight;
                if (percent < sum) {
                    return k;
                }
            }
            throw new AssertionError(percent);
        }
    }

    enum Ending { WATCH, CLOSE, ABORT }

    // ------------------------------------------------------------------ the two variants

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void hostileInputsHurtNoLiveClientAndLeakNothing() throws Exception {
        boolean inputsSet = System.getProperty("fuzz.inputs") != null;
        boolean secondsSet = System.getProperty("fuzz.seconds") != null;
        fuzz(Long.getLong("fuzz.inputs", secondsSet ? Long.MAX_VALUE : 20_000),
                Duration.ofSeconds(Long.getLong("fuzz.seconds", inputsSet ? 86_400 : 75)));
    }

    @Tag("soak")
    @Test
    void hostileInputsSoak() throws Exception {
        fuzz(Long.getLong("fuzz.inputs", Long.MAX_VALUE), Duration.ofSeconds(Long.getLong("fuzz.seconds", 600)));
    }

    // ------------------------------------------------------------------ state of one run

    private long seed;
    private Set<String> exclude = Collections.emptySet();
    private final Map<Kind, Tally> tallies = new EnumMap<>(Kind.class);
    private final ConcurrentHashMap<Long, Input> inFlight = new ConcurrentHashMap<>();
    private final Problems problems = new Problems();
    private final List<String> uncaught = new CopyOnWriteArrayList<>();
    private final List<String> fuzzClientExceptions = new CopyOnWriteArrayList<>();
    private final AtomicLong trickleCount = new AtomicLong();
    private final AtomicLong trickleMaxMillis = new AtomicLong();
    private final AtomicLong peakDirect = new AtomicLong();
    private final AtomicLong peakThreads = new AtomicLong();
    private final AtomicLong peakFds = new AtomicLong();
    private final byte[][] instancePool = new byte[4][16];
    private final CurveKeyPair[] strangers = new CurveKeyPair[8];
    private ErrTap errTap;
    private LivenessRouter main;
    private LivenessRouter curve;
    private String mainEndpoint;
    private String curveEndpoint;
    private InetSocketAddress mainAddress;
    private InetSocketAddress curveAddress;
    private CurveKeyPair serverKeys;
    private ZContext fuzzCtx;
    private Watcher watcher;
    private volatile boolean fuzzing;
    private volatile String abortReason;
    private volatile long fuzzStartNanos;
    private long directBase;
    private final List<String> directJumps = new CopyOnWriteArrayList<>();
    private final List<LiveClient> liveClients = new CopyOnWriteArrayList<>();
    private final AtomicLong tolerated = new AtomicLong();
    private static final String CONNECT_FAILED = "TCP connect to the router failed";
    /**
     * The triggers of JeroMQ 0.6.0 bugs this harness found (class comment; README, Security), left out by default so
     * that the suite guards everything else; {@code -Dfuzz.exclude=} (empty) throws them in too.
     */
    static final String DEFAULT_EXCLUDE = "TOPBIT,SHORTPING,GREETSTALL";

    private void fuzz(long maxInputs, Duration maxTime) throws Exception {
        seed = System.getProperty("fuzz.seed") != null ? Long.parseLong(System.getProperty("fuzz.seed")) : new SecureRandom().nextLong();
        exclude = new HashSet<>(list(System.getProperty("fuzz.exclude", DEFAULT_EXCLUDE)));
        List<String> onlyText = list(System.getProperty("fuzz.only", ""));
        long[] only = onlyText.isEmpty() ? null : onlyText.stream().mapToLong(Long::parseLong).toArray();
        int workers = Integer.getInteger("fuzz.workers", 24);
        System.out.printf("fuzz seed %d (replay: -Dfuzz.seed=%d); inputs %s, at most %d s of fuzzing, %d workers%s%s%n", seed, seed,
                only != null ? "only " + onlyText : maxInputs == Long.MAX_VALUE ? "unbounded" : Long.toString(maxInputs),
                maxTime.getSeconds(), workers, exclude.isEmpty() ? "" : ", excluded " + exclude, "");
        for (Kind k : Kind.values()) {
            tallies.put(k, new Tally());
        }
        Random setup = new Random(seed);
        for (byte[] id : instancePool) {
            setup.nextBytes(id);
        }

        PrintStream originalErr = System.err;
        Thread.UncaughtExceptionHandler originalHandler = Thread.getDefaultUncaughtExceptionHandler();
        errTap = new ErrTap(originalErr);
        System.setErr(new PrintStream(errTap, true));
        // Set before any ZeroMQ context is made: JeroMQ gives its I/O threads the default handler of that moment.
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            uncaught.add(t.getName() + ": " + e);
            originalErr.println("uncaught exception on " + t.getName());
            e.printStackTrace(originalErr);
        });
        try {
            run(maxInputs, maxTime, only, workers);
        } finally {
            System.setErr(originalErr);
            Thread.setDefaultUncaughtExceptionHandler(originalHandler);
        }
    }

    private void run(long maxInputs, Duration maxTime, long[] only, int workers) throws Exception {
        List<String> failures = new ArrayList<>();
        long runStart = System.nanoTime();
        int fds0 = Net.openFds();
        int threads0 = threadCount();
        serverKeys = CurveKeyPair.generate();
        CurveKeyPair goodKey = CurveKeyPair.generate();
        for (int i = 0; i < strangers.length; i++) {
            strangers[i] = CurveKeyPair.generate();
        }
        EventRecorder mainEvents = new EventRecorder();
        EventRecorder curveEvents = new EventRecorder();
        Set<Identity> curveIntruders = ConcurrentHashMap.newKeySet();
        List<LiveClient> live = liveClients;
        ZContext liveCtx = null;
        DealerClient fresh = null;
        Thread sampler = null;
        List<Thread> tricklers = new ArrayList<>();
        ExecutorService pool = null;
        Thread watcherThread = null;
        long fuzzStart = 0;
        long fuzzNanos = 0;
        long inputs = 0;
        Map<String, String> figures = new LinkedHashMap<>();
        long falselyEvicted = -1;
        long drainedAt = 0;
        try {
            main = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(HEARTBEAT).liveness(LIVENESS)
                    .handshakeInterval(HANDSHAKE).maxMessageSize(MAX_MESSAGE).listener(mainEvents)
                    .handler((r, m) -> r.send(m.identity(), m.frames())).build();
            curve = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(CURVE_HEARTBEAT).liveness(LIVENESS)
                    .handshakeInterval(HANDSHAKE).maxMessageSize(MAX_MESSAGE).listener(curveEvents)
                    .curve(serverKeys.secretKey(), AuthorizedKeys.parse(goodKey.publicKey() + " good\n"))
                    .handler((r, m) -> {
                        if (!GOOD.equals(m.identity())) {
                            curveIntruders.add(m.identity());
                        }
                        r.send(m.identity(), m.frames());
                    }).build();
            mainEndpoint = main.endpoints().get(0);
            curveEndpoint = curve.endpoints().get(0);
            mainAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), Net.port(mainEndpoint));
            curveAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), Net.port(curveEndpoint));

            Random liveRandom = new Random(seed ^ 0x5DEECE66DL);
            for (int i = 0; i < LIVE_CLIENTS; i++) {
                String name = "live-" + i;
                live.add(new ZlpLive(name, false, mainEvents, DealerClient.builder().identity(name).connect(mainEndpoint).heartbeat(HEARTBEAT, LIVENESS).build(),
                        liveRandom.nextLong()));
            }
            liveCtx = Dealers.context();
            for (int i = 0; i < LIVE_PLAIN; i++) {
                String name = "plain-" + i;
                live.add(new PlainLive(name, mainEvents, Dealers.connect(liveCtx, name, mainEndpoint), liveRandom.nextLong()));
            }
            live.add(new ZlpLive("good", true, curveEvents, DealerClient.builder().identity("good").connect(curveEndpoint).heartbeat(CURVE_HEARTBEAT, LIVENESS)
                    .curve(serverKeys.publicKey(), goodKey.publicKey(), goodKey.secretKey()).build(), liveRandom.nextLong()));
            await().atMost(Duration.ofSeconds(30)).until(() -> live.stream().allMatch(LiveClient::ready));
            for (LiveClient c : live) {
                c.start();
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> live.stream().allMatch(c -> c.received.get() >= 3));
            // Warm-up, then the baseline: what the process holds with the routers and the live clients up.
            try (SocketChannel ch = SocketChannel.open(mainAddress)) {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
            }
            int liveMain = LIVE_CLIENTS + LIVE_PLAIN;
            await().atMost(Duration.ofSeconds(10)).until(() -> main.connectionCount() == liveMain && curve.connectionCount() == 1);
            int fdsBase = Net.openFds();
            int threadsBase = threadCount();
            long heapBase = settledHeap();
            long directBase = direct();
            peakDirect.set(directBase);
            peakThreads.set(threadsBase);
            peakFds.set(fdsBase);
            System.out.printf("baseline: %d fds, %d threads, heap %.1f MiB, direct %.1f MiB (before the routers: %d fds, %d threads)%n",
                    fdsBase, threadsBase, mib(heapBase), mib(directBase), fds0, threads0);
            for (LiveClient c : live) {
                if (c.disturbed()) {
                    // Not a hostile input's doing: none was sent yet. Reported apart; the fuzzing judges what changes from here.
                    failures.add("live client " + c.name + " lost its connection before any hostile input was sent: " + c.describe());
                }
                c.markBaseline();
            }

            this.directBase = directBase;
            sampler = new Thread(this::monitor, "fuzz-monitor");
            sampler.setDaemon(true);
            fuzzCtx = new ZContext(1);
            fuzzCtx.setLinger(0);
            // What the fuzzing clients' own I/O thread catches is theirs, not the router's: kept apart, not printed.
            fuzzCtx.setNotificationExceptionHandler((t, e) -> fuzzClientExceptions.add(t.getName() + ": " + e));
            fuzzCtx.setUncaughtExceptionHandler((t, e) -> fuzzClientExceptions.add("uncaught " + t.getName() + ": " + e));
            watcher = new Watcher();
            watcherThread = new Thread(watcher, "fuzz-watcher");
            watcherThread.setDaemon(true);

            fuzzing = true;
            sampler.start();
            watcherThread.start();
            fuzzStart = System.nanoTime();
            fuzzStartNanos = fuzzStart;
            for (int i = 0; i < (only == null ? TRICKLERS : 0); i++) {
                int n = i;
                Thread t = new Thread(() -> trickle(n), "fuzz-trickle-" + i);
                t.setDaemon(true);
                t.start();
                tricklers.add(t);
            }
            AtomicInteger workerNumber = new AtomicInteger();
            pool = Executors.newFixedThreadPool(workers, r -> {
                Thread t = new Thread(r, "fuzz-worker-" + workerNumber.getAndIncrement());
                t.setDaemon(true);
                return t;
            });
            AtomicLong next = new AtomicLong();
            long deadline = fuzzStart + maxTime.toNanos();
            for (int w = 0; w < workers; w++) {
                pool.execute(() -> {
                    while (System.nanoTime() < deadline && abortReason == null) {
                        long k = next.getAndIncrement();
                        long index;
                        if (only != null) {
                            if (k >= only.length) {
                                return;
                            }
                            index = only[(int) k];
                        } else {
                            if (k >= maxInputs) {
                                return;
                            }
                            index = k;
                        }
                        runInput(index);
                    }
                });
            }
            pool.shutdown();
            if (!pool.awaitTermination(maxTime.toSeconds() + 120, TimeUnit.SECONDS)) {
                failures.add("fuzz workers still busy 2 minutes after the fuzzing time: " + inFlight.values().stream().limit(10)
                        .map(Input::label).collect(Collectors.toList()));
                pool.shutdownNow();
            }
            fuzzing = false;
            if (abortReason != null) {
                failures.add("the fuzzing was stopped early: " + abortReason);
            }
            for (Thread t : tricklers) {
                t.join(TRICKLE_BOUND.toMillis() + 5_000);
            }
            fuzzNanos = System.nanoTime() - fuzzStart;
            watcher.stopping = true;
            watcher.selector.wakeup();
            watcherThread.join(RAW_BOUND.toMillis() + 10_000);
            if (watcherThread.isAlive()) {
                failures.add("the watcher did not finish: " + watcher.pending.get() + " connections still watched");
            }
            fuzzCtx.close();
            fuzzCtx = null;
            drainedAt = System.nanoTime();
            for (Tally t : tallies.values()) {
                inputs += t.tried.sum();
            }

            // The live clients: stop sending, and every echo must come back.
            for (LiveClient c : live) {
                c.sending = false;
            }
            try {
                await().atMost(bound(Duration.ofSeconds(15))).until(() -> live.stream().allMatch(c -> c.received.get() == c.sent.get()));
            } catch (ConditionTimeoutException e) {
                failures.add("live clients' echoes missing after the fuzzing: " + live.stream()
                        .filter(c -> c.received.get() != c.sent.get()).map(c -> c.name + " " + c.received + "/" + c.sent).collect(Collectors.toList()));
            }
            for (LiveClient c : live) {
                c.running = false;
                c.thread.join(5_000);
            }

            // ---- crashes
            for (LivenessRouter r : new LivenessRouter[] {main, curve}) {
                String which = r == main ? "main router" : "CURVE router";
                RouterStats s = r.stats();
                for (String counter : new String[] {"loopErrors", "handlerErrors", "listenerErrors"}) {
                    if (s.get(counter) != 0) {
                        failures.add(which + ": " + counter + " = " + s.get(counter));
                    }
                }
            }
            if (!uncaught.isEmpty()) {
                failures.add("uncaught exceptions: " + uncaught);
            }
            List<Printed> printed = errTap.printed();
            if (!printed.isEmpty()) {
                failures.add(printed.size() + " exceptions printed by JeroMQ I/O threads (the routers' or the live clients'; the fuzzing "
                        + "clients' are kept apart): " + describe(printed));
            }
            for (LiveClient c : live) {
                if (c.error != null) {
                    failures.add("live client " + c.name + " failed: " + c.error);
                }
            }

            // ---- live clients never disturbed
            falselyEvicted = live.stream().filter(c -> c.evictions() > 0).count();
            for (LiveClient c : live) {
                EventRecorder events = c.curve ? curveEvents : mainEvents;
                Identity id = Identity.of(c.name);
                long evicted = c.evictions();
                long joined = events.count(PeerEvent.Type.JOINED, id);
                if (evicted != 0 || joined != 1) {
                    failures.add("live client " + c.name + " falsely evicted or rejoined: " + events.of(id));
                }
                if (c.disorder.get() != 0 || c.refused.get() != 0) {
                    failures.add("live client " + c.name + ": " + c.disorder + " echoes out of order, " + c.refused + " sends refused");
                }
                if (c instanceof ZlpLive) {
                    Map<String, Long> counters = ((ZlpLive) c).client.counters();
                    if (((ZlpLive) c).lost() != 0 || counters.get("sessions") != 1) {
                        failures.add("live client " + c.name + " lost its session: " + counters);
                    }
                }
            }
            List<PeerEvent> legacyJoins = mainEvents.events().stream().filter(e -> e.type() == PeerEvent.Type.JOINED
                    && e.identity().toString().startsWith("legacy-")).collect(Collectors.toList());
            if (!legacyJoins.isEmpty()) {
                failures.add("ZMTP 1.0/2.0 peers joined: " + legacyJoins);
            }
            if (!curveIntruders.isEmpty()) {
                failures.add("the CURVE router served identities other than 'good': " + curveIntruders);
            }
            for (String category : problems.categories()) {
                failures.add(problems.describe(category));
            }

            // ---- every hostile connection gone, the router still serving
            try {
                await().atMost(bound(HANDSHAKE.plusSeconds(10))).until(() -> main.connectionCount() == liveMain && curve.connectionCount() == 1);
            } catch (ConditionTimeoutException e) {
                failures.add("connections left open: main router " + main.connectionCount() + " (live " + liveMain + "), CURVE router "
                        + curve.connectionCount() + " (live 1)");
            }
            figures.put("connections", "main " + main.connectionCount() + "/" + liveMain + ", curve " + curve.connectionCount() + "/1");
            fresh = DealerClient.builder().identity("fresh").connect(mainEndpoint).heartbeat(HEARTBEAT, LIVENESS).build();
            DealerClient f = fresh;
            try {
                await().atMost(bound(Duration.ofSeconds(20))).until(() -> f.state() == ClientState.READY);
                f.send("after the fuzzing".getBytes(StandardCharsets.UTF_8));
                Message echo = await().atMost(bound(Duration.ofSeconds(10))).until(() -> f.receive(Duration.ofMillis(50)), java.util.Objects::nonNull);
                assertTrue(Arrays.equals("after the fuzzing".getBytes(StandardCharsets.UTF_8), echo.first()));
                figures.put("fresh client", "served");
            } catch (ConditionTimeoutException | AssertionError e) {
                failures.add("a fresh client was not served after the fuzzing: " + f.state() + " " + f.counters());
                figures.put("fresh client", "NOT served");
            }
            fresh.close();
            fresh = null;
            awaitOrFail(failures, bound(Duration.ofSeconds(10)), () -> main.connectionCount() == liveMain,
                    () -> "the fresh client's connection was not released: " + main.connectionCount());

            // ---- resources back to the baseline
            awaitOrFail(failures, bound(Duration.ofSeconds(20)), () -> Net.openFds() <= fdsBase + FD_MARGIN,
                    () -> "file descriptors: " + Net.openFds() + " after, " + fdsBase + " before (margin " + FD_MARGIN + ")");
            awaitOrFail(failures, bound(Duration.ofSeconds(20)), () -> threadCount() <= threadsBase + THREAD_MARGIN,
                    () -> "threads: " + threadCount() + " after, " + threadsBase + " before (margin " + THREAD_MARGIN + "): " + threadNames());
            awaitOrFail(failures, bound(Duration.ofSeconds(30)), () -> settledHeap() <= heapBase + HEAP_MARGIN,
                    () -> String.format("heap after GC: %.1f MiB after, %.1f MiB before (margin 64 MiB)", mib(settledHeap()), mib(heapBase)));
            awaitOrFail(failures, bound(Duration.ofSeconds(30)), () -> settledDirect() <= directBase + DIRECT_MARGIN,
                    () -> String.format("direct memory after GC: %.1f MiB after, %.1f MiB before (margin 64 MiB)", mib(direct()), mib(directBase)));
            if (peakDirect.get() > directBase + DIRECT_MARGIN) {
                failures.add(String.format("direct memory peaked at %.1f MiB during the fuzzing (%.1f MiB before, margin 64 MiB): a buffer far "
                        + "beyond maxMessageSize (64 KiB) was allocated:\n    %s", mib(peakDirect.get()), mib(directBase), String.join("\n    ", directJumps)));
            }
            figures.put("fds", fdsBase + " -> " + Net.openFds() + " (peak " + peakFds.get() + ")");
            figures.put("threads", threadsBase + " -> " + threadCount() + " (peak " + peakThreads.get() + ")");
            figures.put("heap", String.format("%.1f -> %.1f MiB", mib(heapBase), mib(settledHeap())));
            figures.put("direct", String.format("%.1f -> %.1f MiB (peak %.1f)", mib(directBase), mib(direct()), mib(peakDirect.get())));
        } finally {
            fuzzing = false;
            if (pool != null) {
                pool.shutdownNow();
            }
            if (watcher != null) {
                watcher.stopping = true;
            }
            if (fuzzCtx != null) {
                fuzzCtx.close();
            }
            for (LiveClient c : live) {
                c.running = false;
                if (c.thread != null) {
                    c.thread.join(5_000);
                }
                c.closeClient();
            }
            if (fresh != null) {
                fresh.close();
            }
            if (liveCtx != null) {
                liveCtx.close();
            }
            long closeStart = System.nanoTime();
            if (main != null) {
                main.close();
            }
            if (curve != null) {
                curve.close();
            }
            figures.put("routers closed in", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart) + " ms");
            if (sampler != null) {
                sampler.join(1_000);
            }
        }

        // ---- after closing everything: nothing left behind, and the books balance
        awaitOrFail(failures, bound(Duration.ofSeconds(15)), () -> threadCount() <= threads0 + THREAD_MARGIN
                        && Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("zmq-liveness")),
                () -> "threads after closing everything: " + threadCount() + ", " + threads0 + " before the routers were built: " + threadNames());
        awaitOrFail(failures, bound(Duration.ofSeconds(15)), () -> Net.openFds() <= fds0 + FD_MARGIN,
                () -> "file descriptors after closing everything: " + Net.openFds() + ", " + fds0 + " before the routers were built");
        for (LivenessRouter r : new LivenessRouter[] {main, curve}) {
            RouterStats s = r.stats();
            if (s.receivedUnaccounted() != 0 || s.acceptedPending() != 0) {
                failures.add((r == main ? "main" : "CURVE") + " router's accounting does not balance after close: unaccounted "
                        + s.receivedUnaccounted() + ", pending " + s.acceptedPending() + ": " + s);
            }
        }

        // ---- the summary
        StringBuilder kinds = new StringBuilder();
        for (Map.Entry<Kind, Tally> e : tallies.entrySet()) {
            Tally t = e.getValue();
            if (t.tried.sum() + t.skipped.sum() > 0) {
                kinds.append(String.format(" %s=%d", e.getKey(), t.tried.sum()));
            }
        }
        long printedCount = errTap.printed().size();
        RouterStats ms = main.stats();
        RouterStats cs = curve.stats();
        System.out.printf("fuzz summary: seed=%d inputs=%d (%s) in %.1f s; crashes: loopErrors=%d/%d uncaught=%d jeromqExceptions=%d; "
                        + "leaks: rawNotClosed=%d tricklesNotClosed=%d %s; live clients falsely evicted %d; failed checks %d%n",
                seed, inputs, kinds.toString().trim(), fuzzNanos / 1e9, ms.get("loopErrors"), cs.get("loopErrors"), uncaught.size(),
                printedCount, tallies.entrySet().stream().filter(e -> e.getKey() != Kind.TRICKLE).mapToLong(e -> e.getValue().notClosed.sum()).sum(),
                problems.count("trickle not closed"),
                figures, falselyEvicted,
                failures.size());
        for (Map.Entry<Kind, Tally> e : tallies.entrySet()) {
            Tally t = e.getValue();
            if (t.tried.sum() + t.skipped.sum() > 0) {
                System.out.printf("  %-13s tried %6d  closed by router %6d (slowest %5d ms)  closed by us %5d  NOT closed %4d  echoed %5d  "
                                + "no echo %5d  connect failed %d  errors %d  skipped %d%n", e.getKey(), t.tried.sum(), t.routerClosed.sum(),
                        t.maxCloseMillis.get(), t.weClosed.sum(), t.notClosed.sum(), t.echoed.sum(), t.noEcho.sum(), t.connectFailed.sum(),
                        t.errors.sum(), t.skipped.sum());
            }
        }
        System.out.printf("  trickles: %d, slowest closed after %d ms (bound %d ms)%n", trickleCount.get(), trickleMaxMillis.get(), TRICKLE_BOUND.toMillis());
        for (LiveClient c : live) {
            System.out.printf("  live %-7s sent %5d echoed %5d out of order %d refused %d longest wait for an echo %d ms%s%n", c.name, c.sent.get(),
                    c.received.get(), c.disorder.get(), c.refused.get(), c.maxGapMillis.get(),
                    c instanceof ZlpLive ? " counters " + ((ZlpLive) c).client.counters() : "");
        }
        System.out.printf("  main router: %s%n  CURVE router: %s%n", ms, cs);
        System.out.printf("  main router stalls: %s; CURVE router stalls: %s%n", stalls(mainEvents), stalls(curveEvents));
        System.out.printf("  main router events: %s%n", eventCounts(mainEvents));
        if (!fuzzClientExceptions.isEmpty()) {
            System.out.printf("  the fuzzing clients' own JeroMQ threads caught %d exceptions (not the router's; not a failure), first: %s%n",
                    fuzzClientExceptions.size(), fuzzClientExceptions.subList(0, Math.min(5, fuzzClientExceptions.size())));
        }
        if (only == null && maxInputs != Long.MAX_VALUE && inputs < Math.min(maxInputs, 10_000)) {
            System.out.printf("  note: the time limit cut the run at %d inputs%n", inputs);
        }
        long end = System.nanoTime();
        System.out.printf("  time: %.1f s in all: set-up %.1f s, fuzzing %.1f s, waiting for the watched connections %.1f s, checks and close %.1f s%n",
                (end - runStart) / 1e9, (fuzzStartNanos - runStart) / 1e9, fuzzNanos / 1e9, (drainedAt - fuzzStartNanos - fuzzNanos) / 1e9,
                (end - drainedAt) / 1e9);
        if (tolerated.get() > 0) {
            System.out.printf("  %d raw connections held open after the greeting exchange were not counted as failures (GREETSTALL excluded)%n", tolerated.get());
        }
        for (String failure : failures) {
            System.out.println("FAILED: " + failure);
        }
        assertTrue(failures.isEmpty(), failures.size() + " checks failed (seed " + seed + "):\n" + String.join("\n", failures));
    }

    // ------------------------------------------------------------------ one input

    /** One input: what it is, its random source, and what it did (for the report). */
    private final class Input {
        final long index;
        final Kind kind;
        final Random r;
        final Tally tally;
        final StringBuffer what = new StringBuffer();
        volatile long lastWrite = System.nanoTime();
        /** Bytes the router sent on a raw connection (written by one thread at a time). */
        volatile long fromRouter;
        /** Whether the router sent a ZMTP PING on it: it had taken the handshake as done, and was heartbeating. */
        volatile boolean pinged;
        private long tail; // the last 5 bytes seen, to find "\x04PING" across reads

        void fromRouter(byte[] b, int off, int n) {
            fromRouter += n;
            for (int i = off; i < off + n; i++) {
                tail = ((tail << 8) | (b[i] & 0xFF)) & 0xFF_FFFF_FFFFL;
                if (tail == 0x04_5049_4E47L) {
                    pinged = true;
                }
            }
        }

        Input(long index, Kind kind, Random r) {
            this.index = index;
            this.kind = kind;
            this.r = r;
            this.tally = tallies.get(kind);
        }

        void note(String format, Object... args) {
            if (what.length() > 0) {
                what.append("; ");
            }
            what.append(String.format(Locale.ROOT, format, args));
        }

        String label() {
            return kind + " #" + index + " [" + what + "]";
        }
    }

    private static long mix(long seed, long index) {
        long z = seed + index * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private void runInput(long index) {
        Random r = new Random(mix(seed, index));
        Kind kind = Kind.pick(r.nextInt(100));
        Tally t = tallies.get(kind);
        if (exclude.contains(kind.name())) {
            t.skipped.increment();
            return;
        }
        Input in = new Input(index, kind, r);
        t.tried.increment();
        inFlight.put(index, in);
        boolean watched = false;
        try {
            switch (kind) {
                case RANDOM_BYTES:
                    watched = randomBytes(in);
                    break;
                case ZMTP3:
                    watched = zmtp3(in);
                    break;
                case LEGACY:
                    watched = legacy(in);
                    break;
                case CURVE_RAW:
                    watched = curveRaw(in);
                    break;
                case CURVE_DEALER:
                    curveDealer(in);
                    break;
                case ZLP_COMMANDS:
                    zlpCommands(in);
                    break;
                case OVERSIZED:
                    watched = oversized(in);
                    break;
                case FLOOD:
                    flood(in);
                    break;
                default:
                    throw new AssertionError(kind);
            }
        } catch (ConnectException | SocketTimeoutException e) {
            t.connectFailed.increment();
            problems.add(CONNECT_FAILED, in.label() + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception | AssertionError e) {
            t.errors.increment();
            problems.add("harness error (look at it: an unexpected exception while sending an input)", in.label() + ": " + e + " at "
                    + Arrays.stream(e.getStackTrace()).limit(8).map(StackTraceElement::toString).collect(Collectors.joining(" < ")));
        } finally {
            if (!watched) {
                inFlight.remove(index);
            }
        }
    }

    // ------------------------------------------------------------------ raw inputs

    /** A raw TCP connection to a router: written to, and read only to wait for the router's greeting. */
    private final class RawConn {
        final Input in;
        final SocketChannel ch;
        boolean closedByRouter;

        RawConn(Input in, boolean toCurve) throws IOException {
            this.in = in;
            ch = SocketChannel.open();
            try {
                ch.socket().setTcpNoDelay(true);
                ch.socket().connect(toCurve ? curveAddress : mainAddress, 5_000);
            } catch (IOException e) {
                ch.close();
                throw e;
            }
        }

        void write(byte[] bytes) {
            if (closedByRouter || bytes.length == 0) {
                return;
            }
            if (!allowed("TOPBIT")) {
                bytes = bytes.clone();
                clearTopBits(bytes);
            }
            try {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                in.lastWrite = System.nanoTime();
            } catch (IOException e) {
                closedByRouter = true; // reset or closed by the router while we wrote
                in.note("closed by the router while written to");
            }
        }

        private final ByteArrayOutputStream written = new ByteArrayOutputStream();

        /**
         * With TOPBIT excluded: reads what was written so far as the router will (a ZMTP 3 greeting, then frames) and clears
         * the top bit of any long-form frame length in {@code chunk}, however a mutation made it.
         */
        private void clearTopBits(byte[] chunk) {
            written.writeBytes(chunk);
            byte[] all = written.toByteArray();
            int chunkStart = all.length - chunk.length;
            if (all.length < 11 || (all[0] & 0xFF) != 0xFF || (all[9] & 1) == 0 || (all[10] & 0xFF) < 3) {
                return;
            }
            long p = 64;
            while (p + 1 < all.length) {
                int at = (int) p;
                if ((all[at] & 0x02) == 0) {
                    p += 2 + (all[at + 1] & 0xFF);
                    continue;
                }
                if ((all[at + 1] & 0x80) != 0 && at + 1 >= chunkStart) {
                    all[at + 1] &= 0x7F;
                    chunk[at + 1 - chunkStart] &= 0x7F;
                    in.note("top bit of a frame length cleared (TOPBIT excluded)");
                }
                if (at + 9 > all.length) {
                    return;
                }
                p += 9 + ByteBuffer.wrap(all, at + 1, 8).getLong();
                if (p < 0) {
                    return;
                }
            }
        }

        /** Waits up to {@code millis} for {@code n} bytes from the router (its greeting, a WELCOME); notes if it closed instead. */
        void await(int n, int millis) {
            if (closedByRouter) {
                return;
            }
            try {
                ch.socket().setSoTimeout(millis);
                InputStream is = ch.socket().getInputStream();
                byte[] buf = new byte[256];
                int got = 0;
                while (got < n) {
                    int k = is.read(buf, 0, Math.min(buf.length, n - got));
                    if (k > 0) {
                        in.fromRouter(buf, 0, k);
                    }
                    if (k < 0) {
                        closedByRouter = true;
                        in.note("closed by the router after %d bytes", got);
                        return;
                    }
                    got += k;
                }
            } catch (SocketTimeoutException e) {
                // still open: go on
            } catch (IOException e) {
                closedByRouter = true;
                in.note("reset by the router");
            }
        }

        /** Ends the input: true if the connection was handed to the watcher (which then owns it). */
        boolean end(Ending ending) throws InterruptedException {
            if (closedByRouter) {
                in.tally.routerClosed.increment();
                closeQuietly();
                return false;
            }
            switch (ending) {
                case WATCH:
                    watcher.watch(in, ch);
                    return true;
                case CLOSE:
                    in.note("closed by us");
                    break;
                default:
                    in.note("reset by us");
                    try {
                        ch.socket().setSoLinger(true, 0);
                    } catch (IOException e) {
                        // closing anyway
                    }
            }
            in.tally.weClosed.increment();
            closeQuietly();
            return false;
        }

        void closeQuietly() {
            try {
                ch.close();
            } catch (IOException e) {
                // gone anyway
            }
        }
    }

    private static Ending ending(Random r) {
        int v = r.nextInt(10);
        return v < 8 ? Ending.WATCH : v < 9 ? Ending.CLOSE : Ending.ABORT;
    }

    private boolean randomBytes(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        boolean toCurve = r.nextInt(5) == 0;
        byte[] b = new byte[r.nextInt(4097)];
        r.nextBytes(b);
        int v = r.nextInt(10);
        String how = "";
        if (v < 2 && b.length > 0) {
            b[0] = (byte) 0xFF;
            how = ", first 0xFF";
        } else if (v < 4 && b.length >= 10) {
            b[0] = (byte) 0xFF;
            Arrays.fill(b, 1, 9, (byte) 0);
            b[9] = 0x7F;
            how = ", after a ZMTP signature";
        }
        in.note("%d random bytes%s, to the %s router", b.length, how, toCurve ? "CURVE" : "main");
        RawConn c = new RawConn(in, toCurve);
        c.write(b);
        return c.end(ending(r));
    }

    private boolean zmtp3(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        if (r.nextBoolean()) {
            return zmtp3Clean(in);
        }
        int major = 3;
        int minor = r.nextInt(2);
        if (r.nextInt(10) == 0) {
            major = 3 + r.nextInt(253);
            minor = r.nextInt(256);
        }
        String mechanism = r.nextInt(10) < 7 ? "NULL" : pick(r, "CURVE", "PLAIN", "GSSAPI", "null", "NULL\u0001", "NUL", randomAscii(r, 1 + r.nextInt(20)));
        int asServer = r.nextInt(10) == 0 ? r.nextInt(256) : 0;
        byte[] g = greeting(major, minor, mechanism, asServer);
        in.note("ZMTP %d.%d greeting, mechanism %s, as-server %d", major, minor, printable(mechanism), asServer);
        if (r.nextInt(10) < 3) {
            g = mutate(r, g, in, "greeting");
        }
        RawConn c = new RawConn(in, false);
        if (r.nextInt(5) == 0) {
            int cut = r.nextInt(Math.max(1, g.length));
            in.note("greeting cut after %d bytes", cut);
            c.write(Arrays.copyOf(g, cut));
            return c.end(ending(r));
        }
        boolean pipeline = r.nextInt(4) == 0 && allowed("PIPELINE");
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        if (r.nextInt(10) < 7) {
            rest.writeBytes(handshakeCommand(r, in));
        }
        if (r.nextInt(2) == 0) {
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                rest.writeBytes(traffic(r, in));
            }
        }
        if (pipeline) {
            in.note("all in one write");
            c.write(concat(g, rest.toByteArray()));
        } else {
            c.write(g);
            c.await(64, 300);
            c.write(rest.toByteArray());
        }
        return c.end(ending(r));
    }

    /** READY, or another command where READY is due, valid or mutated or with a huge declared size. */
    private byte[] handshakeCommand(Random r, Input in) {
        String name = r.nextInt(10) < 9 ? "READY" : pick(r, "ERROR", "PING", "HELLO", "INITIATE", randomAscii(r, 1 + r.nextInt(12)));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(shortString(name));
        String socketType = r.nextInt(10) < 7 ? "DEALER" : pick(r, "ROUTER", "PUB", "REQ", "", randomAscii(r, 1 + r.nextInt(10)));
        if (r.nextInt(10) < 9) {
            body.writeBytes(property("Socket-Type", ascii(socketType)));
        }
        String idText = "none";
        if (r.nextInt(10) < 8) {
            byte[] id;
            int v = r.nextInt(10);
            if (v < 3) {
                id = ascii("raw-" + in.index);
            } else {
                id = new byte[v == 9 ? 256 + r.nextInt(200) : r.nextInt(256)];
                r.nextBytes(id);
            }
            idText = id.length + " bytes" + (id.length > 0 && id[0] == 0 ? " from 0x00" : "");
            body.writeBytes(property("Identity", id));
        }
        if (r.nextInt(10) == 0) {
            body.writeBytes(property(randomAscii(r, 1 + r.nextInt(30)), randomBytes(r, r.nextInt(100))));
            idText += ", an extra property";
        }
        byte[] b = body.toByteArray();
        in.note("%s, socket type %s, identity %s", name, printable(socketType), idText);
        int v = r.nextInt(10);
        if (v < 6) {
            return command(b);
        } else if (v < 9) {
            return mutate(r, command(b), in, name);
        }
        long size = hugeSize(r);
        in.note("%s declared %s bytes long", name, hex(size));
        return concat(header(0x06, size), b);
    }

    /** What a peer might send once the handshake is done: frames, PINGs, commands, huge frame headers, junk. */
    private byte[] traffic(Random r, Input in) {
        switch (r.nextInt(7)) {
            case 0:
            case 1: {
                byte[] body = randomBytes(r, r.nextInt(301));
                boolean more = r.nextBoolean();
                in.note("frame of %d bytes%s", body.length, more ? " (more)" : "");
                return frame(body, more ? 0x01 : 0);
            }
            case 2:
                return ping(r, in, true);
            case 3: {
                String name = pick(r, "PONG", "SUBSCRIBE", "CANCEL", "ERROR", "READY", randomAscii(r, 1 + r.nextInt(20)));
                in.note("command %s", printable(name));
                return command(concat(shortString(name), randomBytes(r, r.nextInt(41))));
            }
            case 4: {
                long size = hugeSize(r);
                in.note("frame declared %s bytes long", hex(size));
                return concat(header(r.nextBoolean() ? 0x02 : 0x03, size), randomBytes(r, r.nextInt(65)));
            }
            case 5:
                return frame(zlpFrame(r, in), 0);
            default: {
                in.note("junk");
                return randomBytes(r, 1 + r.nextInt(64));
            }
        }
    }

    /** A ZMTP PING command: TTL 0, 0.1 s, random or the longest; 0 to 20 bytes of context; or cut short of its TTL. */
    private byte[] ping(Random r, Input in, boolean mayCut) {
        int[] ttls = {0, 1, r.nextInt(65536), 0xFFFF};
        int ttl = ttls[r.nextInt(ttls.length)];
        if (ttl != 0 && !allowed("PINGTTL")) {
            ttl = 0;
        }
        byte[] body = concat(shortString("PING"), new byte[] {(byte) (ttl >> 8), (byte) ttl}, randomBytes(r, r.nextInt(21)));
        boolean cut = mayCut && r.nextInt(5) == 0 && allowed("SHORTPING");
        if (cut) {
            body = Arrays.copyOf(body, 5 + r.nextInt(2));
            in.note("PING cut to %d bytes", body.length);
        } else {
            in.note("PING ttl 0x%04x, %d bytes", ttl, body.length);
        }
        return command(body);
    }

    /** A clean NULL handshake (greeting, the router's greeting awaited, READY as a DEALER), then traffic that gets past it. */
    private boolean zmtp3Clean(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        int minor = r.nextInt(2);
        int v = r.nextInt(4);
        byte[] id = v < 2 ? ascii("raw-" + in.index) : v == 2 ? randomBytes(r, 1 + r.nextInt(255)) : null;
        in.note("clean ZMTP 3.%d handshake as a DEALER, identity %s", minor, describeId(id));
        byte[] ready = command(concat(shortString("READY"), property("Socket-Type", ascii("DEALER")),
                id == null ? new byte[0] : property("Identity", id)));
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            int w = r.nextInt(10);
            if (i == n - 1 && r.nextInt(4) == 0) {
                rest.writeBytes(traffic(r, in)); // one wild item at the end
            } else if (w < 6) {
                byte[] body = randomBytes(r, r.nextInt(301));
                in.note("frame of %d bytes", body.length);
                rest.writeBytes(frame(body, 0));
            } else if (w < 9) {
                rest.writeBytes(ping(r, in, false));
            } else {
                rest.writeBytes(frame(zlpFrame(r, in), 0));
            }
        }
        RawConn c = new RawConn(in, false);
        c.write(greeting(3, minor, "NULL", 0));
        c.await(64, 300);
        c.write(ready);
        c.write(rest.toByteArray());
        return c.end(ending(r));
    }

    private boolean legacy(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        byte[] id = ascii("legacy-" + in.index);
        byte[] body = ascii("hello from " + in.index);
        byte[] b;
        switch (r.nextInt(4)) {
            case 0:
                in.note("ZMTP 1.0");
                b = concat(new byte[] {(byte) (id.length + 1), 0}, id, new byte[] {(byte) (body.length + 1), 0}, body);
                break;
            case 1:
                in.note("ZMTP 1.0, long length form");
                b = concat(new byte[] {(byte) 0xFF}, ByteBuffer.allocate(8).putLong(id.length + 1).array(), new byte[] {0}, id,
                        new byte[] {(byte) (body.length + 1), 0}, body);
                break;
            default: {
                int revision = r.nextInt(2) == 0 ? 1 : 0;
                in.note("ZMTP 2.0, revision %d", revision);
                b = concat(new byte[] {(byte) 0xFF, 0, 0, 0, 0, 0, 0, 0, (byte) (id.length + 1), 0x7F, (byte) revision, 5},
                        new byte[] {0, (byte) id.length}, id, new byte[] {0, (byte) body.length}, body);
            }
        }
        int v = r.nextInt(10);
        if (v < 2) {
            b = mutate(r, b, in, "legacy greeting");
        } else if (v < 4) {
            int cut = r.nextInt(b.length);
            in.note("cut after %d bytes", cut);
            b = Arrays.copyOf(b, cut);
        }
        RawConn c = new RawConn(in, false);
        c.write(b);
        return c.end(ending(r));
    }

    private boolean curveRaw(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        String mechanism = r.nextInt(10) < 8 ? "CURVE" : pick(r, "NULL", "PLAIN", randomAscii(r, 1 + r.nextInt(20)));
        byte[] g = greeting(3, r.nextInt(2), mechanism, 0);
        in.note("greeting, mechanism %s", printable(mechanism));
        if (r.nextInt(10) < 2) {
            g = mutate(r, g, in, "greeting");
        }
        boolean pipeline = r.nextInt(5) == 0 && allowed("PIPELINE");
        int v = r.nextInt(10);
        boolean valid = false;
        byte[] hello;
        if (v < 5) {
            in.note("HELLO with a random box");
            hello = command(curveHello(r, false));
        } else if (v < 7) {
            in.note("HELLO with a valid box");
            hello = command(curveHello(r, true));
            valid = true;
        } else if (v < 9) {
            hello = mutate(r, command(curveHello(r, r.nextBoolean())), in, "HELLO");
        } else {
            long size = hugeSize(r);
            in.note("HELLO declared %s bytes long", hex(size));
            hello = concat(header(0x06, size), curveHello(r, false));
        }
        RawConn c = new RawConn(in, true);
        if (pipeline) {
            in.note("all in one write");
            c.write(concat(g, hello));
        } else {
            c.write(g);
            c.await(64, 300);
            c.write(hello);
            if (valid) {
                c.await(170, 300); // the server's WELCOME
                if (r.nextBoolean()) {
                    byte[] initiate = command(concat(shortString("INITIATE"), randomBytes(r, 100 + r.nextInt(200))));
                    if (r.nextInt(3) == 0) {
                        initiate = mutate(r, initiate, in, "INITIATE");
                    }
                    in.note("random INITIATE");
                    c.write(initiate);
                } else {
                    in.note("then silent");
                }
            }
        }
        return c.end(ending(r));
    }

    /** A CURVE HELLO command body (200 bytes): with a box the server can open, or random bytes where it should be. */
    private byte[] curveHello(Random r, boolean valid) {
        ByteBuffer b = ByteBuffer.allocate(200);
        b.put(shortString("HELLO")).put((byte) 1).put((byte) 0).put(new byte[72]);
        if (valid) {
            Curve c = new Curve();
            byte[][] ephemeral = c.keypair();
            byte[] nonce = new byte[24];
            System.arraycopy(ascii("CurveZMQHELLO---"), 0, nonce, 0, 16);
            nonce[23] = 1;
            byte[] plain = new byte[96];
            byte[] box = new byte[96];
            c.box(box, plain, 96, nonce, serverKeys.publicKeyBytes(), ephemeral[1]);
            b.put(ephemeral[0]).put(nonce, 16, 8).put(box, 16, 80);
        } else {
            b.put(randomBytes(r, 120));
        }
        return b.array();
    }

    private boolean oversized(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        int v = r.nextInt(10);
        if (v < 7) {
            List<byte[]> frames = new ArrayList<>();
            if (v < 4) {
                frames.add(randomBytes(r, MAX_MESSAGE + 1 + r.nextInt(3 * MAX_MESSAGE)));
                in.note("one frame of %d bytes", frames.get(0).length);
            } else {
                int k = 2 + r.nextInt(4);
                int total = 0;
                for (int i = 0; i < k; i++) {
                    frames.add(randomBytes(r, MAX_MESSAGE / k + 1 + r.nextInt(MAX_MESSAGE / k)));
                    total += frames.get(i).length;
                }
                in.note("%d frames, %d bytes in all", k, total);
            }
            ZMQ.Socket s = dealer(routingId(r));
            try {
                s.connect(mainEndpoint);
                sendMessage(s, frames);
                probe(s, in, 300);
            } finally {
                s.close();
            }
            return false;
        }
        byte[] g = greeting(3, 1, "NULL", 0);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(shortString("READY"));
        body.writeBytes(property("Socket-Type", ascii("DEALER")));
        body.writeBytes(property("Identity", ascii("raw-" + in.index)));
        long size = hugeSize(r);
        int flags = r.nextBoolean() ? 0x02 : 0x03;
        in.note("raw frame (flags 0x%02x) declared %s bytes long", flags, hex(size));
        RawConn c = new RawConn(in, false);
        c.write(g);
        c.await(64, 300);
        c.write(concat(command(body.toByteArray()), header(flags, size), randomBytes(r, r.nextInt(201))));
        return c.end(ending(r));
    }

    private void flood(Input in) throws IOException, InterruptedException {
        Random r = in.r;
        boolean toCurve = r.nextInt(100) < 15;
        RawConn c = new RawConn(in, toCurve);
        if (r.nextInt(10) < 4) {
            byte[] b = randomBytes(r, 1 + r.nextInt(16));
            in.note("%d bytes", b.length);
            c.write(b);
        }
        c.end(r.nextInt(10) < 7 ? Ending.CLOSE : Ending.ABORT);
    }

    /** Huge declared lengths; with the top bit set, JeroMQ 0.6.0 reads them as negative and its size checks pass. */
    private long hugeSize(Random r) {
        long[] sizes = {MAX_MESSAGE + 1L, 2L * MAX_MESSAGE, 1L << 20, Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE};
        // (int) of these: -1, 0, 128 MiB
        long[] topBit = {-1L, 1L << 63, 0x8000000008000000L};
        boolean top = r.nextInt(4) == 0;
        long t = topBit[r.nextInt(topBit.length)];
        long s = sizes[r.nextInt(sizes.length)];
        return top && allowed("TOPBIT") ? t : s;
    }

    // ------------------------------------------------------------------ inputs through JeroMQ DEALERs

    private ZMQ.Socket dealer(byte[] routingId) {
        ZMQ.Socket s = fuzzCtx.createSocket(SocketType.DEALER);
        if (routingId != null) {
            s.setIdentity(routingId);
        }
        s.setLinger(0);
        s.setReconnectIVL(100);
        s.setHandshakeIvl(1000);
        s.setSendTimeOut(200);
        return s;
    }

    /** A routing id: none, 0x00-prefixed, 255 bytes, one shared by several inputs, or random; never a live client's. */
    private byte[] routingId(Random r) {
        int v = r.nextInt(100);
        byte[] id;
        if (v < 15) {
            return null;
        } else if (v < 30) {
            id = randomBytes(r, 1 + r.nextInt(255));
            id[0] = 0;
        } else if (v < 40) {
            id = randomBytes(r, 255);
        } else if (v < 50) {
            id = ascii("fuzz-shared-" + r.nextInt(8));
        } else {
            id = randomBytes(r, 1 + r.nextInt(64));
        }
        String text = new String(id, StandardCharsets.ISO_8859_1);
        if (text.startsWith("live-") || text.startsWith("plain-") || text.equals("good") || text.equals("fresh")) {
            id = concat(new byte[] {'x'}, id);
        }
        return id;
    }

    private static String describeId(byte[] id) {
        if (id == null) {
            return "none";
        }
        String text = new String(id, StandardCharsets.ISO_8859_1);
        if (text.matches("[\\x20-\\x7e]+")) {
            return "'" + text + "'";
        }
        return id.length + " bytes" + (id[0] == 0 ? " from 0x00" : "");
    }

    private void zlpCommands(Input in) {
        Random r = in.r;
        byte[] id = routingId(r);
        in.note("routing id %s", describeId(id));
        List<List<byte[]>> messages = new ArrayList<>();
        if (r.nextInt(10) < 4) {
            in.note("valid HELLO");
            messages.add(List.of(Command.hello(r.nextInt(3) == 0 ? instancePool[r.nextInt(instancePool.length)] : randomBytes(r, 16),
                    r.nextInt(5), r.nextInt(2)).encode()));
        }
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            List<byte[]> frames = new ArrayList<>();
            frames.add(zlpFrame(r, in));
            int more = r.nextInt(10) < 3 ? 1 + r.nextInt(3) : 0;
            for (int k = 0; k < more; k++) {
                frames.add(r.nextInt(5) == 0 ? zlpFrame(r, in) : randomBytes(r, r.nextInt(513)));
            }
            if (more > 0) {
                in.note("+%d frames", more);
            }
            messages.add(frames);
        }
        boolean silent = r.nextInt(20) == 0;
        ZMQ.Socket s = dealer(id);
        try {
            s.connect(mainEndpoint);
            for (List<byte[]> m : messages) {
                sendMessage(s, m);
            }
            probe(s, in, 300);
            if (silent) {
                // A protocol peer that goes quiet past interval x liveness: the router evicts it (heartbeat timeout).
                in.note("then silent for 800 ms");
                s.setReceiveTimeOut(800);
                while (s.recv() != null) {
                    // what the router says meanwhile (DISCONNECT) is dropped
                }
            }
        } finally {
            s.close();
        }
    }

    /** A ZLP command frame, valid or mutated. */
    private byte[] zlpFrame(Random r, Input in) {
        byte[] b;
        String name;
        switch (r.nextInt(9)) {
            case 0:
                name = "HELLO";
                b = Command.hello(r.nextInt(3) == 0 ? instancePool[r.nextInt(instancePool.length)] : randomBytes(r, 16), r.nextLong(), r.nextInt(256)).encode();
                break;
            case 1:
                name = "HEARTBEAT";
                b = Command.heartbeat().encode();
                break;
            case 2:
                name = "BYE";
                b = Command.bye().encode();
                break;
            case 3:
                name = "DATA";
                b = Command.dataFrame().clone();
                break;
            case 4:
                name = "server DATA";
                b = Command.data(r.nextLong()).encode();
                break;
            case 5:
                name = "WELCOME";
                b = Command.welcome(r.nextLong(), r.nextInt(), r.nextInt(256), r.nextInt(256)).encode();
                break;
            case 6:
                name = "DISCONNECT";
                b = Command.disconnect(Command.Reason.values()[r.nextInt(Command.Reason.values().length)], r.nextInt(), randomAscii(r, r.nextInt(40))).encode();
                break;
            case 7:
                name = "bare signature";
                b = new byte[] {(byte) 0xFF, 'Z', 'L'};
                break;
            default:
                name = "empty frame";
                b = new byte[0];
        }
        int v = r.nextInt(10);
        if (v < 4) {
            in.note("%s", name);
            return b;
        } else if (v < 8) {
            return mutate(r, b, in, name);
        } else if (b.length >= 5) {
            int at = v == 8 ? 3 : 4;
            b[at] = (byte) r.nextInt(256);
            in.note("%s with %s byte 0x%02x", name, at == 3 ? "version" : "command", b[at] & 0xFF);
            return b;
        }
        in.note("%s", name);
        return b;
    }

    private static void sendMessage(ZMQ.Socket s, List<byte[]> frames) {
        for (int i = 0; i < frames.size(); i++) {
            s.send(frames.get(i), i < frames.size() - 1 ? ZMQ.SNDMORE : 0);
        }
    }

    /** Sends a probe and waits up to {@code millis} for its echo (after whatever the router sends first). */
    private void probe(ZMQ.Socket s, Input in, int millis) {
        byte[] probe = ascii("probe " + in.index);
        if (!s.send(probe, 0)) {
            in.tally.noEcho.increment();
            return;
        }
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
            if (left <= 0) {
                in.tally.noEcho.increment();
                return;
            }
            s.setReceiveTimeOut((int) left);
            ZMsg m = ZMsg.recvMsg(s);
            if (m == null) {
                in.tally.noEcho.increment();
                return;
            }
            boolean echo = m.getLast() != null && Arrays.equals(m.getLast().getData(), probe);
            m.destroy();
            if (echo) {
                in.tally.echoed.increment();
                return;
            }
        }
    }

    private void curveDealer(Input in) {
        Random r = in.r;
        byte[] id = r.nextInt(5) == 0 ? ascii("good") : routingId(r);
        in.note("claiming routing id %s", describeId(id));
        ZMQ.Socket s = dealer(id);
        try {
            int v = r.nextInt(20);
            CurveKeyPair stranger = strangers[r.nextInt(strangers.length)];
            if (v < 12) {
                in.note("unknown key");
                curveKeys(s, serverKeys.publicKeyBytes(), stranger);
            } else if (v < 15) {
                in.note("fresh unknown key");
                curveKeys(s, serverKeys.publicKeyBytes(), CurveKeyPair.generate());
            } else if (v < 18) {
                in.note("wrong server key");
                curveKeys(s, randomBytes(r, 32), stranger);
            } else {
                in.note("no CURVE");
            }
            s.connect(curveEndpoint);
            int n = 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                s.send(randomBytes(r, 1 + r.nextInt(100)), ZMQ.DONTWAIT);
            }
            s.setReceiveTimeOut(200);
            byte[] got = s.recv();
            if (got != null) {
                problems.add("a CURVE intruder received a message", in.label() + ": " + got.length + " bytes");
            }
        } finally {
            s.close();
        }
    }

    private static void curveKeys(ZMQ.Socket s, byte[] serverPublic, CurveKeyPair own) {
        s.setCurveServerKey(serverPublic);
        s.setCurvePublicKey(own.publicKeyBytes());
        s.setCurveSecretKey(own.secretKeyBytes());
    }

    // ------------------------------------------------------------------ trickles

    /** Connections that send a greeting one byte at a time (or nothing): the handshake interval must end each. */
    private void trickle(int n) {
        Random r = new Random(mix(seed, -1 - n));
        while (fuzzing && abortReason == null) {
            long index = -trickleCount.incrementAndGet();
            Input in = new Input(index, Kind.TRICKLE, r);
            in.tally.tried.increment();
            boolean toCurve = r.nextInt(5) == 0;
            boolean silent = r.nextInt(5) == 0;
            byte[] bytes = silent ? new byte[0] : concat(greeting(3, 1, toCurve ? "CURVE" : "NULL", 0),
                    toCurve ? command(curveHello(r, false)) : command(concat(shortString("READY"), property("Socket-Type", ascii("DEALER")))));
            in.note("trickler %d, %s, to the %s router", n, silent ? "silent" : "a byte every 100 to 300 ms", toCurve ? "CURVE" : "main");
            inFlight.put(index, in);
            long start = System.nanoTime();
            boolean closed = false;
            try (SocketChannel ch = SocketChannel.open()) {
                ch.socket().connect(toCurve ? curveAddress : mainAddress, 5_000);
                OutputStream out = ch.socket().getOutputStream();
                InputStream is = ch.socket().getInputStream();
                byte[] buf = new byte[256];
                int sent = 0;
                long hardStop = start + TRICKLE_BOUND.toNanos() + TimeUnit.SECONDS.toNanos(2);
                while (!closed && System.nanoTime() < hardStop) {
                    if (sent < bytes.length) {
                        try {
                            out.write(bytes[sent++]);
                            in.lastWrite = System.nanoTime();
                        } catch (IOException e) {
                            closed = true;
                            break;
                        }
                    }
                    // The pause between bytes, spent reading: the router's end of stream ends it.
                    long pauseEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100 + r.nextInt(201));
                    while (!closed) {
                        long left = TimeUnit.NANOSECONDS.toMillis(pauseEnd - System.nanoTime());
                        if (left <= 0) {
                            break;
                        }
                        ch.socket().setSoTimeout((int) left);
                        try {
                            if (is.read(buf) < 0) {
                                closed = true;
                            }
                        } catch (SocketTimeoutException e) {
                            break;
                        } catch (IOException e) {
                            closed = true;
                        }
                    }
                }
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                if (closed) {
                    in.tally.routerClosed.increment();
                    trickleMaxMillis.accumulateAndGet(millis, Math::max);
                    in.tally.maxCloseMillis.accumulateAndGet(millis, Math::max);
                    if (millis > TRICKLE_BOUND.toMillis()) {
                        problems.add("trickle closed late", in.label() + ": closed after " + millis + " ms (bound " + TRICKLE_BOUND.toMillis() + " ms)");
                    }
                } else {
                    in.tally.notClosed.increment();
                    problems.add("trickle not closed", in.label() + ": still open after " + millis + " ms (bound " + TRICKLE_BOUND.toMillis() + " ms)");
                }
            } catch (IOException e) {
                in.tally.connectFailed.increment();
                problems.add(CONNECT_FAILED, in.label() + ": " + e);
            } finally {
                inFlight.remove(index);
            }
        }
    }

    // ------------------------------------------------------------------ the watcher

    /** Owns raw connections once written: reads and drops what the router sends, and checks that the router closes them in time. */
    private final class Watcher implements Runnable {
        final Selector selector;
        final Queue<Object[]> incoming = new ConcurrentLinkedQueue<>();
        final Semaphore slots = new Semaphore(MAX_WATCHED);
        final AtomicInteger pending = new AtomicInteger();
        volatile boolean stopping;

        Watcher() throws IOException {
            selector = Selector.open();
        }

        void watch(Input in, SocketChannel ch) throws InterruptedException {
            slots.acquire();
            pending.incrementAndGet();
            incoming.add(new Object[] {in, ch});
            selector.wakeup();
        }

        @Override
        public void run() {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            long lastScan = 0;
            try {
                while (!stopping || pending.get() > 0) {
                    Object[] w;
                    while ((w = incoming.poll()) != null) {
                        Input in = (Input) w[0];
                        SocketChannel ch = (SocketChannel) w[1];
                        try {
                            ch.configureBlocking(false);
                            ch.register(selector, SelectionKey.OP_READ, in);
                        } catch (IOException | RuntimeException e) {
                            finish(in, ch, null, true);
                        }
                    }
                    selector.select(20);
                    Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                    while (it.hasNext()) {
                        SelectionKey k = it.next();
                        it.remove();
                        if (!k.isValid()) {
                            continue;
                        }
                        SocketChannel ch = (SocketChannel) k.channel();
                        boolean closed;
                        try {
                            int n;
                            Input in = (Input) k.attachment();
                            do {
                                buf.clear();
                                n = ch.read(buf);
                                if (n > 0) {
                                    in.fromRouter(buf.array(), 0, n);
                                }
                            } while (n > 0);
                            closed = n < 0;
                        } catch (IOException e) {
                            closed = true; // reset by the router
                        }
                        if (closed) {
                            finish((Input) k.attachment(), ch, k, true);
                        }
                    }
                    long now = System.nanoTime();
                    if (now - lastScan > TimeUnit.MILLISECONDS.toNanos(20)) {
                        lastScan = now;
                        for (SelectionKey k : selector.keys()) {
                            Input in = (Input) k.attachment();
                            if (k.isValid() && now - in.lastWrite > RAW_BOUND.toNanos()) {
                                finish(in, (SocketChannel) k.channel(), k, false);
                            }
                        }
                    }
                }
            } catch (IOException e) {
                problems.add("harness error (look at it: an unexpected exception while sending an input)", "watcher: " + e);
            } finally {
                for (SelectionKey k : selector.keys()) {
                    try {
                        k.channel().close();
                    } catch (IOException e) {
                        // closing anyway
                    }
                }
                try {
                    selector.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }

        private void finish(Input in, SocketChannel ch, SelectionKey k, boolean closedByRouter) {
            if (k != null) {
                k.cancel();
            }
            try {
                ch.close();
            } catch (IOException e) {
                // gone anyway
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - in.lastWrite);
            if (closedByRouter) {
                in.tally.routerClosed.increment();
                in.tally.maxCloseMillis.accumulateAndGet(millis, Math::max);
            } else {
                in.tally.notClosed.increment();
                String when = in.pinged ? "after the handshake (the router was sending it PINGs)"
                        : in.fromRouter >= 64 ? "after the greeting exchange, in the security handshake"
                        : "before the greetings were exchanged";
                if (!in.pinged && in.fromRouter >= 64 && !allowed("GREETSTALL")) {
                    tolerated.incrementAndGet();
                } else {
                    problems.add("raw connection not closed by the router within " + RAW_BOUND.toMillis() + " ms of its last byte, " + when
                            + " (" + in.kind + ")", in.label() + ": still open after " + millis + " ms; the router had sent " + in.fromRouter + " bytes");
                }
            }
            inFlight.remove(in.index);
            pending.decrementAndGet();
            slots.release();
        }
    }

    // ------------------------------------------------------------------ live clients

    private abstract static class LiveClient implements Runnable {
        final String name;
        final boolean curve;
        final Random random;
        final AtomicLong sent = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        final AtomicLong disorder = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        final AtomicLong maxGapMillis = new AtomicLong();
        volatile boolean sending = true;
        volatile boolean running = true;
        volatile Throwable error;
        Thread thread;
        private long expect;
        private long lastEcho;

        final EventRecorder events;

        LiveClient(String name, boolean curve, EventRecorder events, long seed) {
            this.name = name;
            this.curve = curve;
            this.events = events;
            this.random = new Random(seed);
        }

        private long evictionsBefore;

        long evictions() {
            return events.count(PeerEvent.Type.EVICTED, Identity.of(name)) - evictionsBefore;
        }

        /** Whether it was evicted, or lost its connection, since {@link #markBaseline()}. */
        boolean disturbed() {
            return evictions() > 0;
        }

        void markBaseline() {
            evictionsBefore = events.count(PeerEvent.Type.EVICTED, Identity.of(name));
        }

        String describe() {
            return events.of(Identity.of(name)).toString();
        }

        abstract boolean ready();

        abstract boolean send(byte[] payload);

        abstract byte[] receive(int millis);

        abstract void closeClient();

        void start() {
            thread = new Thread(this, "fuzz-live-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            try {
                long next = System.nanoTime();
                lastEcho = next;
                while (running) {
                    long now = System.nanoTime();
                    if (sending && now >= next) {
                        if (send(ascii(name + " " + sent.get()))) {
                            sent.incrementAndGet();
                        } else {
                            refused.incrementAndGet();
                        }
                        next = now + TimeUnit.MILLISECONDS.toNanos(50 + random.nextInt(51));
                    }
                    int wait = sending ? (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(next - System.nanoTime())) : 20;
                    byte[] echo = receive(wait);
                    if (echo != null) {
                        onEcho(echo);
                    }
                }
            } catch (RuntimeException | Error e) {
                error = e;
            }
        }

        private void onEcho(byte[] echo) {
            long now = System.nanoTime();
            String text = new String(echo, StandardCharsets.US_ASCII);
            long n = text.startsWith(name + " ") ? Long.parseLong(text.substring(name.length() + 1)) : -1;
            if (n != expect) {
                disorder.incrementAndGet();
            }
            expect = n + 1;
            received.incrementAndGet();
            if (sending) {
                maxGapMillis.accumulateAndGet(TimeUnit.NANOSECONDS.toMillis(now - lastEcho), Math::max);
            }
            lastEcho = now;
        }
    }

    private static final class ZlpLive extends LiveClient {
        final DealerClient client;

        ZlpLive(String name, boolean curve, EventRecorder events, DealerClient client, long seed) {
            super(name, curve, events, seed);
            this.client = client;
        }

        private long lostBefore;

        long lost() {
            Map<String, Long> counters = client.counters();
            return counters.get("connectionLost") + counters.get("serverSilent") - lostBefore;
        }

        @Override
        boolean disturbed() {
            return super.disturbed() || lost() > 0;
        }

        @Override
        void markBaseline() {
            super.markBaseline();
            lostBefore = lost();
        }

        @Override
        String describe() {
            return super.describe() + " " + client.counters();
        }

        @Override
        boolean ready() {
            return client.state() == ClientState.READY;
        }

        @Override
        boolean send(byte[] payload) {
            return client.send(payload) == SendResult.QUEUED;
        }

        @Override
        byte[] receive(int millis) {
            Message m = client.receive(Duration.ofMillis(millis));
            return m == null ? null : m.first();
        }

        @Override
        void closeClient() {
            client.close();
        }
    }

    private static final class PlainLive extends LiveClient {
        final ZMQ.Socket socket;

        PlainLive(String name, EventRecorder events, ZMQ.Socket socket, long seed) {
            super(name, false, events, seed);
            this.socket = socket;
        }

        @Override
        boolean ready() {
            return true;
        }

        @Override
        boolean send(byte[] payload) {
            return socket.send(payload, ZMQ.DONTWAIT);
        }

        @Override
        byte[] receive(int millis) {
            socket.setReceiveTimeOut(millis);
            return socket.recv(0);
        }

        @Override
        void closeClient() {
            socket.close();
        }
    }

    // ------------------------------------------------------------------ bookkeeping

    private static final class Tally {
        final LongAdder tried = new LongAdder();
        final LongAdder skipped = new LongAdder();
        final LongAdder routerClosed = new LongAdder();
        final LongAdder weClosed = new LongAdder();
        final LongAdder notClosed = new LongAdder();
        final LongAdder echoed = new LongAdder();
        final LongAdder noEcho = new LongAdder();
        final LongAdder connectFailed = new LongAdder();
        final LongAdder errors = new LongAdder();
        final AtomicLong maxCloseMillis = new AtomicLong();
    }

    /** Failures found while fuzzing, by category: counted, the first 10 of each kept. */
    private static final class Problems {
        private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
        private final Map<String, Queue<String>> examples = new ConcurrentHashMap<>();

        void add(String category, String detail) {
            counts.computeIfAbsent(category, c -> new LongAdder()).increment();
            Queue<String> q = examples.computeIfAbsent(category, c -> new ConcurrentLinkedQueue<>());
            if (q.size() < 10) {
                q.add(detail);
            }
        }

        long count(String category) {
            LongAdder a = counts.get(category);
            return a == null ? 0 : a.sum();
        }

        List<String> categories() {
            return new ArrayList<>(counts.keySet());
        }

        String describe(String category) {
            return count(category) + " x " + category + "; first ones:\n    " + String.join("\n    ", examples.get(category));
        }
    }

    /** An exception JeroMQ printed (what its I/O threads catch), with the inputs most recently written when it came. */
    private static final class Printed {
        final String header;
        final List<String> frames = new ArrayList<>();
        final List<String> suspects;

        Printed(String header, List<String> suspects) {
            this.header = header;
            this.suspects = suspects;
        }

        String key() {
            return header.replaceAll(":.*", "") + (frames.isEmpty() ? "" : " " + frames.get(0));
        }
    }

    /** Standard error, passed on unchanged, and read for exceptions that JeroMQ's threads print. */
    private final class ErrTap extends OutputStream {
        private final PrintStream out;
        private final StringBuilder line = new StringBuilder();
        private final List<Printed> printed = new ArrayList<>();
        private Printed current;

        ErrTap(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void write(int b) {
            out.write(b);
            take(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            out.write(b, off, len);
            for (int i = off; i < off + len; i++) {
                take(b[i]);
            }
        }

        @Override
        public void flush() {
            out.flush();
        }

        synchronized List<Printed> printed() {
            return new ArrayList<>(printed);
        }

        private void take(int b) {
            if (b == '\n') {
                onLine(line.toString());
                line.setLength(0);
            } else if (line.length() < 1_000) {
                line.append((char) (b & 0xFF));
            }
        }

        private void onLine(String l) {
            if (EXCEPTION_LINE.matcher(l).matches()) {
                current = new Printed(l, suspects());
                printed.add(current);
            } else if (current != null && l.startsWith("\tat ")) {
                if (current.frames.size() < 6) {
                    current.frames.add(l.trim());
                }
            } else if (!l.startsWith("\t") && !l.startsWith("Caused by")) {
                current = null;
            }
        }

        /** The inputs in flight whose last write came closest before now. */
        private List<String> suspects() {
            long now = System.nanoTime();
            return inFlight.values().stream().filter(i -> i.lastWrite <= now)
                    .sorted(Comparator.comparingLong(i -> now - i.lastWrite)).limit(5)
                    .map(i -> i.label() + " (" + TimeUnit.NANOSECONDS.toMillis(now - i.lastWrite) + " ms before)")
                    .collect(Collectors.toList());
        }
    }

    private static String describe(List<Printed> printed) {
        Map<String, List<Printed>> byKey = new LinkedHashMap<>();
        for (Printed p : printed) {
            byKey.computeIfAbsent(p.key(), k -> new ArrayList<>()).add(p);
        }
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, List<Printed>> e : byKey.entrySet()) {
            Printed first = e.getValue().get(0);
            b.append("\n    ").append(e.getValue().size()).append(" x ").append(first.header).append("\n        ")
                    .append(String.join("\n        ", first.frames));
            for (int i = 0; i < Math.min(3, e.getValue().size()); i++) {
                b.append("\n      inputs written just before occurrence ").append(i + 1).append(":\n        ")
                        .append(String.join("\n        ", e.getValue().get(i).suspects));
            }
        }
        return b.toString();
    }

    /**
     * Samples direct memory (every 10 ms), threads and fds (every 200 ms) for their peaks; says which thread allocated a
     * jump of direct memory and which inputs were written just before; stops the fuzzing once the router is plainly
     * broken (a live client disturbed, connects failing, direct memory 512 MiB above the baseline): the test has failed
     * by then, and going on only buries the first cause.
     */
    private void monitor() {
        int round = 0;
        long jumpFloor = directBase + (32L << 20);
        while (fuzzing) {
            long d = direct();
            if (d > jumpFloor && directJumps.size() < 5) {
                jumpFloor = d + (32L << 20);
                for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                    List<String> frames = Arrays.stream(e.getValue()).map(StackTraceElement::toString).collect(Collectors.toList());
                    int at = -1;
                    for (int i = 0; i < frames.size(); i++) {
                        if (frames.get(i).contains("allocateDirect")) {
                            at = i;
                        }
                    }
                    if (at >= 0) {
                        directJumps.add(String.format("%.0f MiB, allocated on %s at %s; inputs written just before: %s", mib(d), e.getKey().getName(),
                                frames.subList(at, Math.min(frames.size(), at + 8)), errTap.suspects()));
                    }
                }
            }
            peakDirect.accumulateAndGet(d, Math::max);
            if (d > directBase + (512L << 20)) {
                abort(String.format("direct memory at %.0f MiB", mib(d)));
            }
            if (round++ % 20 == 0) {
                peakThreads.accumulateAndGet(threadCount(), Math::max);
                peakFds.accumulateAndGet(Net.openFds(), Math::max);
                for (LiveClient c : liveClients) {
                    if (c.disturbed() && abortReason == null) {
                        Map<Kind, Long> kinds = inFlight.values().stream().collect(Collectors.groupingBy(i -> i.kind,
                                () -> new EnumMap<>(Kind.class), Collectors.counting()));
                        abort("live client " + c.name + " lost its connection or was evicted (" + c.describe() + "); inputs in flight then, by kind: "
                                + kinds + ", the latest: " + errTap.suspects());
                    }
                }
                if (problems.count(CONNECT_FAILED) >= 50) {
                    abort(problems.count(CONNECT_FAILED) + " TCP connects to the routers failed");
                }
            }
            try {
                Thread.sleep(10); // a sampling period, not a wait for a condition
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A wait's bound: as given, or 3 s once the fuzzing was stopped for a broken router (the test has failed; the checks still say what is left). */
    private Duration bound(Duration normal) {
        return abortReason == null ? normal : Duration.ofSeconds(Math.min(3, normal.getSeconds()));
    }

    private void abort(String reason) {
        if (abortReason == null) {
            abortReason = String.format("%s, %.1f s into the fuzzing", reason, (System.nanoTime() - fuzzStartNanos) / 1e9);
        }
    }

    private static void awaitOrFail(List<String> failures, Duration atMost, BooleanSupplier condition, java.util.function.Supplier<String> failure) {
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(200)).until(condition::getAsBoolean);
        } catch (ConditionTimeoutException e) {
            failures.add(failure.get());
        }
    }

    private static int threadCount() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    private static String threadNames() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().collect(Collectors.toList()).toString();
    }

    private static long settledHeap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long settledDirect() {
        System.gc(); // direct buffers are freed when their owners are collected
        return direct();
    }

    private static long direct() {
        for (BufferPoolMXBean p : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (p.getName().equals("direct")) {
                return p.getMemoryUsed();
            }
        }
        return 0;
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static String stalls(EventRecorder events) {
        long max = events.stalls.stream().mapToLong(s -> s.duration().toMillis()).max().orElse(0);
        return events.stalls.size() + (events.stalls.isEmpty() ? "" : " (longest " + max + " ms)");
    }

    private static Map<PeerEvent.Type, Long> eventCounts(EventRecorder events) {
        return events.events().stream().collect(Collectors.groupingBy(PeerEvent::type, () -> new EnumMap<>(PeerEvent.Type.class), Collectors.counting()));
    }

    private boolean allowed(String tag) {
        return !exclude.contains(tag);
    }

    private static List<String> list(String commaSeparated) {
        List<String> out = new ArrayList<>();
        for (String s : commaSeparated.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ bytes

    /** A ZMTP 3 greeting: signature, version, mechanism (padded to 20 bytes), as-server, filler. */
    private static byte[] greeting(int major, int minor, String mechanism, int asServer) {
        byte[] g = new byte[64];
        g[0] = (byte) 0xFF;
        g[9] = 0x7F;
        g[10] = (byte) major;
        g[11] = (byte) minor;
        byte[] m = mechanism.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(m, 0, g, 12, Math.min(20, m.length));
        g[32] = (byte) asServer;
        return g;
    }

    /** A ZMTP command frame (flags 0x04, short or long size). */
    private static byte[] command(byte[] body) {
        return frame(body, 0x04);
    }

    /** A ZMTP frame with {@code flags} (MORE 0x01, COMMAND 0x04); the long size form when the body needs it. */
    private static byte[] frame(byte[] body, int flags) {
        if (body.length <= 255) {
            return concat(new byte[] {(byte) (flags & ~0x02), (byte) body.length}, body);
        }
        return concat(header(flags | 0x02, body.length), body);
    }

    /** A long-form frame header declaring {@code size} bytes, whatever follows. */
    private static byte[] header(int flags, long size) {
        return ByteBuffer.allocate(9).put((byte) flags).putLong(size).array();
    }

    private static byte[] shortString(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        return concat(new byte[] {(byte) b.length}, b);
    }

    private static byte[] property(String name, byte[] value) {
        return concat(shortString(name), ByteBuffer.allocate(4).putInt(value.length).array(), value);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static String randomAscii(Random r, int n) {
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = (char) (0x21 + r.nextInt(94));
        }
        return new String(c);
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... options) {
        return options[r.nextInt(options.length)];
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder("'");
        for (char c : s.toCharArray()) {
            b.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return b.append('\'').toString();
    }

    private static String hex(long v) {
        return String.format("0x%016X", v);
    }

    /** One of: bit flips, random bytes, a cut, junk appended, a byte inserted or deleted, a magic value. */
    private static byte[] mutate(Random r, byte[] b, Input in, String what) {
        byte[] out = b.clone();
        switch (r.nextInt(6)) {
            case 0: {
                int n = 1 + r.nextInt(8);
                for (int i = 0; i < n && out.length > 0; i++) {
                    int at = r.nextInt(out.length);
                    out[at] ^= (byte) (1 << r.nextInt(8));
                }
                in.note("%s with %d bits flipped", what, n);
                return out;
            }
            case 1: {
                int n = 1 + r.nextInt(4);
                for (int i = 0; i < n && out.length > 0; i++) {
                    out[r.nextInt(out.length)] = (byte) r.nextInt(256);
                }
                in.note("%s with %d random bytes", what, n);
                return out;
            }
            case 2: {
                int cut = out.length == 0 ? 0 : r.nextInt(out.length);
                in.note("%s cut to %d of %d bytes", what, cut, out.length);
                return Arrays.copyOf(out, cut);
            }
            case 3: {
                byte[] junk = randomBytes(r, 1 + r.nextInt(64));
                in.note("%s with %d bytes of junk after it", what, junk.length);
                return concat(out, junk);
            }
            case 4: {
                int at = r.nextInt(out.length + 1);
                if (r.nextBoolean() && at < out.length) {
                    in.note("%s with byte %d deleted", what, at);
                    return concat(Arrays.copyOf(out, at), Arrays.copyOfRange(out, at + 1, out.length));
                }
                in.note("%s with a byte inserted at %d", what, at);
                return concat(Arrays.copyOf(out, at), new byte[] {(byte) r.nextInt(256)}, Arrays.copyOfRange(out, at, out.length));
            }
            default: {
                int[] magic = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE};
                int value = magic[r.nextInt(magic.length)];
                if (out.length > 0) {
                    int at = r.nextInt(out.length);
                    out[at] = (byte) value;
                    in.note("%s with byte %d set to 0x%02x", what, at, value);
                }
                return out;
            }
        }
    }
}
