package io.github.zmqliveness.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Round trips through the three {@link EchoServer.Kind}s, from plain JeroMQ DEALERs with identities
 * in the same JVM, all over 127.0.0.1.
 *
 * <ul>
 *   <li>{@link #throughput}: every dealer keeps {@code window} messages in flight; the benchmark
 *       thread takes one echo from the next dealer (round robin) and sends one more. One op = one
 *       echoed message, so ops/s is echoes per second.</li>
 *   <li>{@link #latency}: one dealer, one message in flight: the time of a round trip.</li>
 * </ul>
 *
 * <p>Short on purpose (the whole suite must fit in about 15 minutes on 2 cores): one fork, 3 warm-up
 * and 5 measured iterations of 2 s. Servers, the dealers' I/O thread and the benchmark thread share
 * the machine's cores, so these are end-to-end figures, not the server's alone.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class EchoBenchmark {
    private static final int RECEIVE_TIMEOUT_MS = 5000;
    /**
     * Now and then the ZMTP handshake of a fresh connection stalls (JeroMQ 0.6.0, seen with every
     * server kind, in setup only) until a handshake timer drops the connection and the dealer
     * reconnects: 30 s with JeroMQ's default handshake interval, so the dealers use 1 s. They wait
     * for echoes in slices of this many ms and count every slice that expired: {@link #STALLS}.
     */
    private static final int RECEIVE_SLICE_MS = 100;
    /** Receive slices that expired; printed at teardown, expected 0 during measurement. */
    static final java.util.concurrent.atomic.AtomicLong STALLS = new java.util.concurrent.atomic.AtomicLong();

    static byte[] payload(int size) {
        byte[] p = new byte[size];
        Arrays.fill(p, (byte) 'x'); // not the protocol's command signature (0xFF 'Z' 'L')
        return p;
    }

    static ZMQ.Socket dealer(ZContext ctx, String identity, String endpoint) {
        return dealer(ctx, identity, endpoint, null);
    }

    /** A dealer; with {@code curveServerKey} a CurveZMQ client with a key pair of its own. */
    static ZMQ.Socket dealer(ZContext ctx, String identity, String endpoint, byte[] curveServerKey) {
        ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
        if (curveServerKey != null) {
            io.github.zmqliveness.CurveKeyPair mine = io.github.zmqliveness.CurveKeyPair.generate();
            s.setCurveServerKey(curveServerKey);
            s.setCurvePublicKey(mine.publicKeyBytes());
            s.setCurveSecretKey(mine.secretKeyBytes());
        }
        s.setIdentity(identity.getBytes(StandardCharsets.UTF_8));
        s.setLinger(0);
        s.setHandshakeIvl(1000);
        s.setReconnectIVL(50);
        s.setReceiveTimeOut(RECEIVE_SLICE_MS);
        s.setSendTimeOut(RECEIVE_TIMEOUT_MS);
        s.connect(endpoint);
        return s;
    }

    static byte[] recv(ZMQ.Socket s) {
        byte[] r = s.recv(0);
        if (r != null) {
            return r;
        }
        for (int waited = RECEIVE_SLICE_MS; waited < RECEIVE_TIMEOUT_MS; waited += RECEIVE_SLICE_MS) {
            STALLS.incrementAndGet();
            r = s.recv(0);
            if (r != null) {
                return r;
            }
        }
        throw new IllegalStateException("no echo within " + RECEIVE_TIMEOUT_MS + " ms: a message was lost");
    }

    static void send(ZMQ.Socket s, byte[] payload) {
        if (!s.send(payload, 0)) {
            throw new IllegalStateException("dealer could not send within " + RECEIVE_TIMEOUT_MS + " ms");
        }
    }

    /** Common to both states: a server and a context for the dealers. */
    abstract static class Rig {
        EchoServer server;
        ZContext clients;
        ZMQ.Socket[] sockets;
        byte[] payload;

        void open(EchoServer.Kind kind, int dealerCount, int payloadSize) {
            server = EchoServer.start(kind);
            clients = new ZContext(1);
            clients.setLinger(0);
            payload = payload(payloadSize);
            sockets = new ZMQ.Socket[dealerCount];
            for (int i = 0; i < dealerCount; i++) {
                sockets[i] = dealer(clients, "bench-dealer-" + i, server.endpoint(), server.curveServerKey());
                send(sockets[i], payload); // the first message makes the peer join
                recv(sockets[i]);
            }
            long setupStalls = STALLS.getAndSet(0);
            if (setupStalls != 0) {
                System.out.println("\n[EchoBenchmark] setup: " + setupStalls + " receive slice(s) of " + RECEIVE_SLICE_MS
                        + " ms expired waiting for first echoes (stalled handshakes, redone; not measured)");
            }
        }

        void shut() {
            System.out.println("\n[EchoBenchmark] receive slices of " + RECEIVE_SLICE_MS + " ms that expired during warm-up "
                    + "and measurement: " + STALLS.get() + " (expected 0)");
            clients.close();
            server.close();
            long failed = server.failedSends.get();
            if (failed != 0) {
                throw new IllegalStateException(failed + " echoes were not queued by the server: the figures are void");
            }
        }
    }

    @State(Scope.Thread)
    public static class Pipelined extends Rig {
        @Param({"RAW", "HANDLER", "RECEIVE", "CALLER", "CALLER_POLL"})
        public EchoServer.Kind server;

        @Param({"1", "8"})
        public int dealers;

        /** Messages in flight per dealer. */
        @Param({"100"})
        public int window;

        @Param({"64"})
        public int payloadSize;

        int next;

        @Setup(Level.Trial)
        public void setUp() {
            open(server, dealers, payloadSize);
            for (ZMQ.Socket d : sockets) {
                for (int i = 0; i < window; i++) {
                    send(d, payload);
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            shut();
        }
    }

    @State(Scope.Thread)
    public static class PingPong extends Rig {
        @Param({"RAW", "HANDLER", "RECEIVE", "CALLER", "CALLER_POLL"})
        public EchoServer.Kind server;

        @Param({"64"})
        public int payloadSize;

        @Setup(Level.Trial)
        public void setUp() {
            open(server, 1, payloadSize);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            shut();
        }
    }

    /** One echoed message: take the next dealer's oldest echo and put a new message in flight. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] throughput(Pipelined s) {
        ZMQ.Socket d = s.sockets[s.next];
        if (++s.next == s.sockets.length) {
            s.next = 0;
        }
        byte[] echo = recv(d);
        send(d, s.payload);
        return echo;
    }

    /** One round trip with nothing else in flight. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public byte[] latency(PingPong s) {
        ZMQ.Socket d = s.sockets[0];
        send(d, s.payload);
        return recv(d);
    }
}
