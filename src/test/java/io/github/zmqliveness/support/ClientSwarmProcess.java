package io.github.zmqliveness.support;

import io.github.zmqliveness.ClientState;
import io.github.zmqliveness.DealerClient;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Many {@link DealerClient}s in one JVM, driven by commands on standard input, so a benchmark can
 * run thousands of real protocol clients (HELLO, heartbeats, dead-server detection, backoff,
 * DISCONNECT retry-after) in a few processes. The same line protocol as {@link DealerSwarmProcess}.
 *
 * <p>Arguments: {@code endpoint prefix slots initial backoff-initial-ms backoff-max-ms [handshake-ms]}.
 * Slot {@code i} has the identity {@code prefix-i} (three digits at least); {@code initial} slots
 * start at once. Each client is built with the public builder: that identity, the endpoint, backoff
 * {@code initial, max, x2}, the handshake interval if given (and not 0) and every other setting at
 * its default (heartbeat 1 s x 3, handshake 2 s, no listener). Clients send nothing of their own: only their
 * heartbeats.
 *
 * <p>Each client has its own JeroMQ context, so it costs three threads (its loop, JeroMQ's I/O
 * thread and reaper) and about two dozen fds (selectors and signalling pipes, plus its connection):
 * run a few hundred per process (see {@code stats}). Prints {@code ready N} once the first N
 * started, then answers each command line {@code SEQ COMMAND [ARG]} with one line {@code ok SEQ ...}:
 *
 * <ul>
 *   <li>{@code join K}: K more clients start (they connect in the background); {@code ok SEQ active=N}</li>
 *   <li>{@code list}: {@code ok SEQ id,id,...} of the started clients</li>
 *   <li>{@code mark}: remembers each client's session; from now on the first moment each one is seen
 *       not READY or in another session is recorded (the loop looks every 10 ms); {@code ok SEQ marked}</li>
 *   <li>{@code stats}: {@code ok SEQ clients=N ready=.. connecting=.. backoff=.. stopped=.. closed=..},
 *       then the sum of every client's counters ({@code sessions=.. reconnects=.. serverSilent=..}
 *       ...), then {@code noticed=K noticedFirstMs=T noticedLastMs=T} (wall-clock ms of the first and
 *       last client to notice since {@code mark}; 0 if none), then {@code fds=.. threads=..} of this process</li>
 *   <li>{@code exit}: closes every client (in parallel, each bounded by its close timeout) and exits</li>
 * </ul>
 * End of input (the parent JVM died) also exits.
 */
public final class ClientSwarmProcess {
    private final String endpoint;
    private final String prefix;
    private final Duration backoffInitial;
    private final Duration backoffMax;
    private final Duration handshake;
    private final DealerClient[] clients;
    private final long[] sessionAtMark;
    private final long[] noticedAt;
    private int active;
    private boolean marked;

    private ClientSwarmProcess(String endpoint, String prefix, int slots, Duration backoffInitial, Duration backoffMax,
            Duration handshake) {
        this.endpoint = endpoint;
        this.prefix = prefix;
        this.backoffInitial = backoffInitial;
        this.backoffMax = backoffMax;
        this.handshake = handshake;
        this.clients = new DealerClient[slots];
        this.sessionAtMark = new long[slots];
        this.noticedAt = new long[slots];
    }

    public static void main(String[] args) throws InterruptedException {
        ClientSwarmProcess swarm = new ClientSwarmProcess(args[0], args[1], Integer.parseInt(args[2]),
                Duration.ofMillis(Long.parseLong(args[4])), Duration.ofMillis(Long.parseLong(args[5])),
                args.length > 6 ? Duration.ofMillis(Long.parseLong(args[6])) : Duration.ZERO);
        BlockingQueue<String> commands = new LinkedBlockingQueue<>();
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    commands.add(line);
                }
            } catch (IOException e) {
                // parent gone
            }
            commands.add("0 exit");
        }, "swarm-stdin");
        stdin.setDaemon(true);
        stdin.start();
        int started = swarm.join(Integer.parseInt(args[3]));
        say("ready " + started);
        swarm.run(commands);
    }

    private void run(BlockingQueue<String> commands) throws InterruptedException {
        while (true) {
            String line = commands.poll(10, TimeUnit.MILLISECONDS);
            while (line != null) {
                if (!execute(line)) {
                    closeAll();
                    System.exit(0);
                }
                line = commands.poll();
            }
            if (marked) {
                watch(System.currentTimeMillis());
            }
        }
    }

    private boolean execute(String line) {
        String[] w = line.trim().split("\\s+");
        String seq = w[0];
        String cmd = w.length > 1 ? w[1] : "";
        int k = w.length > 2 ? Integer.parseInt(w[2]) : 0;
        switch (cmd) {
            case "join":
                join(k);
                say("ok " + seq + " active=" + active);
                return true;
            case "list":
                say("ok " + seq + " " + String.join(",", identities()));
                return true;
            case "mark":
                mark();
                say("ok " + seq + " marked");
                return true;
            case "stats":
                watch(System.currentTimeMillis());
                say("ok " + seq + " " + stats());
                return true;
            case "exit":
                say("ok " + seq + " bye");
                return false;
            default:
                say("error " + seq + " unknown command: " + line);
                return true;
        }
    }

    private int join(int k) {
        int n = 0;
        while (n < k && active < clients.length) {
            DealerClient.Builder b = DealerClient.builder()
                    .identity(identity(active))
                    .connect(endpoint)
                    .backoff(backoffInitial, backoffMax, 2.0);
            if (!handshake.isZero()) {
                b.handshakeInterval(handshake);
            }
            clients[active] = b.build();
            active++;
            n++;
        }
        return n;
    }

    private String identity(int slot) {
        return String.format("%s-%03d", prefix, slot);
    }

    private List<String> identities() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < active; i++) {
            ids.add(identity(i));
        }
        return ids;
    }

    private void mark() {
        for (int i = 0; i < active; i++) {
            sessionAtMark[i] = clients[i].state() == ClientState.READY ? clients[i].session() : -1;
            noticedAt[i] = 0;
        }
        marked = true;
    }

    /** Records the first moment since {@code mark} each client is seen out of the session it was in. */
    private void watch(long nowMs) {
        for (int i = 0; i < active; i++) {
            if (noticedAt[i] == 0 && (clients[i].state() != ClientState.READY || clients[i].session() != sessionAtMark[i])) {
                noticedAt[i] = nowMs;
            }
        }
    }

    private String stats() {
        Map<ClientState, Integer> states = new EnumMap<>(ClientState.class);
        Map<String, Long> counters = new LinkedHashMap<>();
        for (int i = 0; i < active; i++) {
            states.merge(clients[i].state(), 1, Integer::sum);
            clients[i].counters().forEach((key, v) -> counters.merge(key, v, Long::sum));
        }
        StringBuilder b = new StringBuilder("clients=").append(active);
        for (ClientState s : ClientState.values()) {
            b.append(' ').append(s.name().toLowerCase()).append('=').append(states.getOrDefault(s, 0));
        }
        counters.forEach((key, v) -> b.append(' ').append(key).append('=').append(v));
        b.append(noticed());
        b.append(" fds=").append(fdCount()).append(" threads=").append(ManagementFactory.getThreadMXBean().getThreadCount());
        return b.toString();
    }

    private String noticed() {
        int count = 0;
        long first = 0;
        long last = 0;
        for (int i = 0; i < active && marked; i++) {
            long t = noticedAt[i];
            if (t != 0) {
                count++;
                first = first == 0 ? t : Math.min(first, t);
                last = Math.max(last, t);
            }
        }
        return " noticed=" + count + " noticedFirstMs=" + first + " noticedLastMs=" + last;
    }

    private void closeAll() {
        List<Thread> closers = new ArrayList<>();
        for (int i = 0; i < active; i++) {
            DealerClient c = clients[i];
            Thread t = new Thread(c::close, "close-" + i);
            t.start();
            closers.add(t);
        }
        for (Thread t : closers) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static int fdCount() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
