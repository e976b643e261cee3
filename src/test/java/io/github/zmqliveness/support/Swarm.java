package io.github.zmqliveness.support;

import io.github.zmqliveness.Identity;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The test's handle on one swarm process ({@link DealerSwarmProcess}, the libzmq {@code swarm.py} or
 * {@link ClientSwarmProcess}): commands, signals, and what it says is live.
 */
public final class Swarm implements AutoCloseable {
    /** What the process is doing, as far as the test made it. */
    public enum State { RUNNING, FROZEN, KILLED }

    private static final Duration ANSWER = Duration.ofSeconds(30);

    public final String prefix;
    private final ChildProcess child;
    private State state = State.RUNNING;
    private int seq;

    private Swarm(String prefix, ChildProcess child) {
        this.prefix = prefix;
        this.child = child;
    }

    /** Starts the process; returns once {@code initial} dealers have connected and sent their first tick. */
    public static Swarm start(String endpoint, String prefix, int slots, int initial, long intervalMs)
            throws IOException, InterruptedException {
        ChildProcess child = ChildProcess.start(ChildProcess.javaCommand("-Xmx160m", DealerSwarmProcess.class,
                List.of(endpoint, prefix, Integer.toString(slots), Integer.toString(initial), Long.toString(intervalMs))));
        Swarm s = new Swarm(prefix, child);
        try {
            child.awaitLine("ready", ANSWER);
        } catch (AssertionError | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Starts a swarm of {@link io.github.zmqliveness.DealerClient}s ({@link ClientSwarmProcess}):
     * {@code join}, {@code list}, {@code stats} and {@code mark} only. Each client costs three threads
     * and about two dozen fds, so the JVM gets small thread stacks and a heap of 64 MiB plus 256 KiB per slot;
     * client logging is WARN and up (a paced storm logs one INFO line per deferred HELLO).
     *
     * @param backoff the clients' reconnect backoff: initial and max (multiplier 2, full jitter)
     */
    public static Swarm startClients(String endpoint, String prefix, int slots, int initial, Duration backoffInitial,
            Duration backoffMax) throws IOException, InterruptedException {
        return startClients(endpoint, prefix, slots, initial, backoffInitial, backoffMax, Duration.ZERO, 0);
    }

    /**
     * As above, with the clients' {@code handshakeInterval} ({@link Duration#ZERO}: the builder's default)
     * and the process's {@code nice} level (0: as this JVM; 1 to 19 run it through {@code nice -n}, so a
     * benchmark's clients on the same cores do not starve the router they measure).
     */
    public static Swarm startClients(String endpoint, String prefix, int slots, int initial, Duration backoffInitial,
            Duration backoffMax, Duration handshake, int nice) throws IOException, InterruptedException {
        long heapMiB = 64 + slots / 4;
        List<String> jvm = List.of("-Xmx" + heapMiB + "m", "-Xss256k", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        List<String> cmd = new ArrayList<>();
        if (nice > 0) {
            cmd.addAll(List.of("nice", "-n", Integer.toString(nice)));
        }
        cmd.addAll(ChildProcess.javaCommand(jvm, ClientSwarmProcess.class,
                List.of(endpoint, prefix, Integer.toString(slots), Integer.toString(initial),
                        Long.toString(backoffInitial.toMillis()), Long.toString(backoffMax.toMillis()),
                        Long.toString(handshake.toMillis()))));
        ChildProcess child = ChildProcess.start(cmd);
        Swarm s = new Swarm(prefix, child);
        try {
            child.awaitLine("ready", ANSWER);
        } catch (AssertionError | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Starts a swarm of real libzmq DEALERs ({@code src/test/resources/swarm.py} through Debian's
     * python3-zmq): the same commands, except {@code takeover}. libzmq's I/O thread does the ZMTP
     * work in C, so thousands of these cost the machine far less CPU than JeroMQ dealers.
     *
     * @param handshakeMs libzmq's ZMQ_HANDSHAKE_IVL, or 0 for libzmq's default (30 s)
     */
    public static Swarm startLibzmq(String endpoint, String prefix, int slots, int initial, long intervalMs, long handshakeMs)
            throws IOException, InterruptedException {
        String script = Swarm.class.getResource("/swarm.py").getPath();
        List<String> cmd = new ArrayList<>(List.of(Facilities.PYTHON, "-u", script, endpoint, prefix,
                Integer.toString(slots), Integer.toString(initial), Long.toString(intervalMs)));
        if (handshakeMs > 0) {
            cmd.add(Long.toString(handshakeMs));
        }
        ChildProcess child = ChildProcess.start(cmd);
        Swarm s = new Swarm(prefix, child);
        try {
            child.awaitLine("ready", ANSWER);
        } catch (AssertionError | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** Sends {@code command} and returns what follows {@code ok SEQ} in the answer. */
    public synchronized String request(String command) throws IOException {
        if (state != State.RUNNING) {
            throw new IllegalStateException("swarm " + prefix + " is " + state + ": it cannot answer '" + command + "'");
        }
        String tag = Integer.toString(++seq);
        child.tell(tag + " " + command);
        String line = child.awaitLine("ok " + tag + " ", ANSWER);
        return line.substring(("ok " + tag + " ").length());
    }

    public void join(int k) throws IOException {
        request("join " + k);
    }

    public void leave(int k) throws IOException {
        request("leave " + k);
    }

    /** The identities that moved to a new socket. */
    public List<Identity> takeover(int k) throws IOException {
        return identities(request("takeover " + k));
    }

    /** The identities whose dealers are open and driven; none unless RUNNING. */
    public Set<Identity> live() throws IOException {
        if (state != State.RUNNING) {
            return Set.of();
        }
        return new LinkedHashSet<>(identities(request("list")));
    }

    /** A {@link ClientSwarmProcess}'s {@code stats} as key and value ({@code clients}, {@code ready}, {@code sessions}, ...). */
    public Map<String, Long> stats() throws IOException {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String kv : request("stats").trim().split("\\s+")) {
            String[] p = kv.split("=", 2);
            if (p.length == 2) {
                m.put(p[0], Long.parseLong(p[1]));
            }
        }
        return m;
    }

    /** A {@link ClientSwarmProcess} starts watching for clients that leave their current session. */
    public void mark() throws IOException {
        request("mark");
    }

    public void quiet() throws IOException {
        request("quiet");
    }

    public void loud() throws IOException {
        request("loud");
    }

    /** SIGSTOP: the whole JVM, JeroMQ's I/O thread too, so nobody answers the router's PINGs. */
    public void freeze() throws IOException, InterruptedException {
        child.signal("STOP");
        state = State.FROZEN;
    }

    public void thaw() throws IOException, InterruptedException {
        child.signal("CONT");
        state = State.RUNNING;
    }

    /** SIGKILL: the kernel closes every connection of the process at once. */
    public void kill() throws InterruptedException {
        child.kill();
        state = State.KILLED;
    }

    public State state() {
        return state;
    }

    public long pid() {
        return child.pid();
    }

    public boolean isAlive() {
        return child.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        child.close();
        state = State.KILLED;
    }

    private static List<Identity> identities(String csv) {
        List<Identity> ids = new ArrayList<>();
        for (String s : csv.trim().split(",")) {
            if (!s.isEmpty()) {
                ids.add(Identity.of(s));
            }
        }
        return ids;
    }

    @Override
    public String toString() {
        return "swarm " + prefix + " (pid " + child.pid() + ", " + state + ")";
    }
}
