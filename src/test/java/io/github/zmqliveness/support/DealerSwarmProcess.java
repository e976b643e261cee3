package io.github.zmqliveness.support;

import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Many plain JeroMQ DEALERs in one JVM, driven by commands on standard input, so a test can run a
 * thousand clients in a few processes and still kill (SIGKILL) or freeze (SIGSTOP) a whole group.
 *
 * <p>Arguments: {@code endpoint prefix slots initial interval-ms}. Slot {@code i} has the identity
 * {@code prefix-i} (three digits at least); {@code initial} slots join at start. Every active
 * dealer sends {@code tick N} every interval and reads whatever comes back. One thread owns every
 * socket. Prints {@code ready N} once the first N joined, then answers each command line
 * {@code SEQ COMMAND [ARG]} with one line {@code ok SEQ ...}:
 *
 * <ul>
 *   <li>{@code join K}: K inactive slots connect and send at once; {@code ok SEQ active=N}</li>
 *   <li>{@code leave K}: the K highest active dealers close their sockets (FIN); {@code ok SEQ active=N}</li>
 *   <li>{@code takeover K}: for the next K active dealers (round robin) a new socket with the same
 *       identity connects and sends; the old socket is not closed and its connection stays open
 *       until the router shuts it, but it will not reconnect (its network is gone); it is closed
 *       only a minute later; {@code ok SEQ id,id,...}</li>
 *   <li>{@code list}: {@code ok SEQ id,id,...} of the active dealers</li>
 *   <li>{@code quiet} / {@code loud}: stop / resume sending ticks (replies are still read)</li>
 *   <li>{@code stats}: {@code ok SEQ sent=N received=M}</li>
 *   <li>{@code exit}: closes everything and exits</li>
 * </ul>
 * End of input (the test JVM died) also exits. A frozen client is simulated by SIGSTOP of the whole
 * process, since JeroMQ's I/O thread answers ZMTP PINGs for as long as it runs.
 */
public final class DealerSwarmProcess {
    private static final long ABANDONED_CLOSE_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static final class Slot {
        final String identity;
        ZMQ.Socket socket;
        long nextSend;
        long ticks;

        Slot(String identity) {
            this.identity = identity;
        }
    }

    private static final class Abandoned {
        final ZMQ.Socket socket;
        final long at;

        Abandoned(ZMQ.Socket socket, long at) {
            this.socket = socket;
            this.at = at;
        }
    }

    private final String endpoint;
    private final long intervalNanos;
    private final ZContext ctx = Dealers.context();
    private final Slot[] slots;
    private final ArrayDeque<Abandoned> abandoned = new ArrayDeque<>();
    private int takeoverCursor;
    private boolean quiet;
    private long sent;
    private long received;

    private DealerSwarmProcess(String endpoint, String prefix, int slotCount, long intervalMs) {
        this.endpoint = endpoint;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
        this.slots = new Slot[slotCount];
        for (int i = 0; i < slotCount; i++) {
            slots[i] = new Slot(String.format("%s-%03d", prefix, i));
        }
        ctx.getContext().setMaxSockets(8192);
    }

    public static void main(String[] args) throws InterruptedException {
        DealerSwarmProcess swarm = new DealerSwarmProcess(args[0], args[1], Integer.parseInt(args[2]), Long.parseLong(args[4]));
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
        int joined = swarm.join(Integer.parseInt(args[3]));
        say("ready " + joined);
        swarm.run(commands);
    }

    private void run(BlockingQueue<String> commands) throws InterruptedException {
        while (true) {
            // Pacing: wake at least every 10 ms to send due ticks and read replies; at once for a command.
            String line = commands.poll(10, TimeUnit.MILLISECONDS);
            while (line != null) {
                if (!execute(line)) {
                    ctx.close();
                    System.exit(0);
                }
                line = commands.poll();
            }
            long now = System.nanoTime();
            for (Slot s : slots) {
                if (s.socket == null) {
                    continue;
                }
                if (!quiet && now - s.nextSend >= 0) {
                    tick(s);
                    s.nextSend = Math.max(s.nextSend + intervalNanos, now);
                }
                while (s.socket.recv(ZMQ.DONTWAIT) != null) {
                    received++;
                }
            }
            while (!abandoned.isEmpty() && now - abandoned.peekFirst().at > ABANDONED_CLOSE_NANOS) {
                ctx.destroySocket(abandoned.pollFirst().socket);
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
                say("ok " + seq + " active=" + active().size());
                return true;
            case "leave":
                for (int i = slots.length - 1; i >= 0 && k > 0; i--) {
                    if (slots[i].socket != null) {
                        ctx.destroySocket(slots[i].socket);
                        slots[i].socket = null;
                        k--;
                    }
                }
                say("ok " + seq + " active=" + active().size());
                return true;
            case "takeover":
                say("ok " + seq + " " + String.join(",", takeover(k)));
                return true;
            case "list":
                say("ok " + seq + " " + String.join(",", active()));
                return true;
            case "quiet":
                quiet = true;
                say("ok " + seq + " quiet");
                return true;
            case "loud":
                quiet = false;
                say("ok " + seq + " loud");
                return true;
            case "stats":
                say("ok " + seq + " sent=" + sent + " received=" + received);
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
        long now = System.nanoTime();
        for (Slot s : slots) {
            if (n == k) {
                break;
            }
            if (s.socket == null) {
                s.socket = Dealers.connect(ctx, s.identity, endpoint);
                tick(s); // joins with its first message
                s.nextSend = now + intervalNanos;
                n++;
            }
        }
        return n;
    }

    private List<String> takeover(int k) {
        List<String> moved = new ArrayList<>();
        long now = System.nanoTime();
        for (int tried = 0; tried < slots.length && moved.size() < k; tried++) {
            Slot s = slots[takeoverCursor];
            takeoverCursor = (takeoverCursor + 1) % slots.length;
            if (s.socket == null) {
                continue;
            }
            // The old network is gone: this socket keeps its connection until the router shuts it,
            // then stays dead (JeroMQ reads the reconnect interval from the socket's live options).
            s.socket.setReconnectIVL(-1);
            abandoned.add(new Abandoned(s.socket, now));
            s.socket = Dealers.connect(ctx, s.identity, endpoint);
            tick(s);
            s.nextSend = now + intervalNanos;
            moved.add(s.identity);
        }
        return moved;
    }

    private void tick(Slot s) {
        if (s.socket.send(("tick " + s.ticks++).getBytes(StandardCharsets.UTF_8), ZMQ.DONTWAIT)) {
            sent++;
        }
    }

    private List<String> active() {
        List<String> ids = new ArrayList<>();
        for (Slot s : slots) {
            if (s.socket != null) {
                ids.add(s.identity);
            }
        }
        return ids;
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
