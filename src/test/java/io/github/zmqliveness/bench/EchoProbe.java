package io.github.zmqliveness.bench;

import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A fixed amount of the pipelined echo work of {@link EchoBenchmark#throughput}, outside JMH, that
 * reports the CPU time each thread spent per echoed message (ThreadMXBean, user + system), split
 * into the server's threads (its ROUTER loop, its JeroMQ I/O thread, the receive() thread) and the
 * client's (the dealers' I/O thread, the sending thread). CPU per message is what sizes a server,
 * and it moves much less than throughput when other work shares the machine. Also the context switches of the
 * server's threads per 1,000 echoes (Linux): voluntary ones are waits and wake-ups, involuntary ones contention.
 *
 * <p>Also the target of profilers that attach to a whole process: bench/syscalls.sh runs it under
 * {@code perf trace}, and the TID lines it prints name the threads.
 *
 * <p>{@code java -cp ... io.github.zmqliveness.bench.EchoProbe KIND [dealers=1] [messages=1000000] [window=100]}
 */
public final class EchoProbe {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private EchoProbe() {
    }

    public static void main(String[] args) {
        EchoServer.Kind kind = EchoServer.Kind.valueOf(args[0]);
        int dealers = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int messages = args.length > 2 ? Integer.parseInt(args[2]) : 1_000_000;
        int window = args.length > 3 ? Integer.parseInt(args[3]) : 100;
        byte[] payload = EchoBenchmark.payload(64);
        try (EchoServer server = EchoServer.start(kind)) {
            Set<Long> serverThreads = new HashSet<>();
            for (long id : MX.getAllThreadIds()) {
                serverThreads.add(id); // everything alive once the server is up; the client's threads come later
            }
            serverThreads.remove(Thread.currentThread().getId());
            Set<String> serverTids = new HashSet<>(switchesByTid().keySet()); // the same, as Linux names them
            serverTids.remove(currentTid()); // this thread is the client's sender
            try (ZContext ctx = new ZContext(1)) {
                ZMQ.Socket[] sockets = new ZMQ.Socket[dealers];
                for (int i = 0; i < dealers; i++) {
                    sockets[i] = EchoBenchmark.dealer(ctx, "probe-dealer-" + i, server.endpoint());
                    EchoBenchmark.send(sockets[i], payload);
                    EchoBenchmark.recv(sockets[i]);
                    for (int w = 0; w < window; w++) {
                        EchoBenchmark.send(sockets[i], payload);
                    }
                }
                // warm up a little (JIT), then measure
                run(sockets, payload, Math.min(messages, 200_000));
                System.out.println("PROBE-START");
                Map<Long, Long> cpu0 = cpuByThread();
                Map<String, long[]> sw0 = switchesByTid();
                long t0 = System.nanoTime();
                run(sockets, payload, messages);
                long nanos = System.nanoTime() - t0;
                Map<Long, Long> cpu1 = cpuByThread();
                Map<String, long[]> sw1 = switchesByTid();
                System.out.println("PROBE-END");
                printThreads();
                report(kind, dealers, messages, nanos, cpu0, cpu1, serverThreads);
                reportSwitches(messages, sw0, sw1, serverTids);
            }
        }
    }

    private static void run(ZMQ.Socket[] sockets, byte[] payload, int messages) {
        for (int m = 0, next = 0; m < messages; m++) {
            ZMQ.Socket d = sockets[next];
            if (++next == sockets.length) {
                next = 0;
            }
            EchoBenchmark.recv(d);
            EchoBenchmark.send(d, payload);
        }
    }

    private static void report(EchoServer.Kind kind, int dealers, int messages, long nanos, Map<Long, Long> cpu0, Map<Long, Long> cpu1,
            Set<Long> serverThreads) {
        double serverUs = 0;
        double clientUs = 0;
        StringBuilder detail = new StringBuilder();
        for (Map.Entry<Long, Long> e : cpu1.entrySet()) {
            long used = e.getValue() - cpu0.getOrDefault(e.getKey(), 0L);
            if (used < nanos / 200) {
                continue; // under 0.5 % of a core: JMX, GC helpers, idle threads
            }
            double us = used / 1e3 / messages;
            boolean server = serverThreads.contains(e.getKey());
            if (server) {
                serverUs += us;
            } else {
                clientUs += us;
            }
            ThreadInfo ti = MX.getThreadInfo(e.getKey());
            detail.append(String.format("    %-6s %-24s %6.2f us/msg%n", server ? "server" : "client",
                    ti == null ? "#" + e.getKey() : ti.getThreadName(), us));
        }
        System.out.printf("%-8s dealers=%d  %,9.0f echoes/s  server CPU %5.2f us/msg  client CPU %5.2f us/msg  (%d echoes)%n%s",
                kind, dealers, messages / (nanos / 1e9), serverUs, clientUs, messages, detail);
    }

    /**
     * Context switches of the server's threads per 1,000 echoes: voluntary (the thread blocked: a wait for a message or
     * a wake-up) and involuntary (the scheduler took the core away: contention). Linux only.
     */
    private static void reportSwitches(int messages, Map<String, long[]> sw0, Map<String, long[]> sw1, Set<String> serverTids) {
        long voluntary = 0;
        long involuntary = 0;
        StringBuilder detail = new StringBuilder();
        for (Map.Entry<String, long[]> e : sw1.entrySet()) {
            long[] before = sw0.get(e.getKey());
            if (before == null || !serverTids.contains(e.getKey())) {
                continue;
            }
            long v = e.getValue()[0] - before[0];
            long i = e.getValue()[1] - before[1];
            if (v + i < messages / 10_000) {
                continue; // idle threads
            }
            voluntary += v;
            involuntary += i;
            detail.append(String.format("    server %-24s %7.1f voluntary %7.1f involuntary per 1000 echoes%n",
                    Objects.requireNonNullElse(comm(e.getKey()), e.getKey()), 1000.0 * v / messages, 1000.0 * i / messages));
        }
        System.out.printf("context switches of the server's threads: %.1f voluntary, %.1f involuntary per 1000 echoes%n%s",
                1000.0 * voluntary / messages, 1000.0 * involuntary / messages, detail);
    }

    /** Voluntary and involuntary context switches of every thread, by Linux thread id (empty where /proc is missing). */
    static Map<String, long[]> switchesByTid() {
        Map<String, long[]> out = new TreeMap<>();
        File[] tasks = new File("/proc/self/task").listFiles();
        if (tasks == null) {
            return out;
        }
        for (File t : tasks) {
            try {
                long[] sw = new long[2];
                for (String line : Files.readAllLines(new File(t, "status").toPath())) {
                    if (line.startsWith("voluntary_ctxt_switches:")) {
                        sw[0] = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                        sw[1] = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
                out.put(t.getName(), sw);
            } catch (IOException e) {
                // thread ended meanwhile
            }
        }
        return out;
    }

    /** This thread's Linux thread id, or "" where /proc is missing. */
    private static String currentTid() {
        try {
            return new File("/proc/thread-self").getCanonicalFile().getName();
        } catch (IOException e) {
            return "";
        }
    }

    /** A thread's name as Linux knows it (15 characters at most), or null if the thread has ended. */
    private static String comm(String tid) {
        try {
            return new String(Files.readAllBytes(new File("/proc/self/task/" + tid + "/comm").toPath()), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return null;
        }
    }

    /** CPU time of every live thread, by thread id. */
    static Map<Long, Long> cpuByThread() {
        Map<Long, Long> out = new TreeMap<>();
        for (long id : MX.getAllThreadIds()) {
            long t = MX.getThreadCpuTime(id);
            if (t >= 0) {
                out.put(id, t);
            }
        }
        return out;
    }

    /** Native thread id and name of every thread (Linux /proc), so per-thread tracer output can be named. */
    static void printThreads() {
        File[] tasks = new File("/proc/self/task").listFiles();
        if (tasks == null) {
            return;
        }
        for (File t : tasks) {
            String comm = comm(t.getName());
            if (comm != null) { // else the thread ended meanwhile
                System.out.println("TID " + t.getName() + " " + comm);
            }
        }
    }
}
