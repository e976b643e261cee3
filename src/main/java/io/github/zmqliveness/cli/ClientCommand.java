package io.github.zmqliveness.cli;

import io.github.zmqliveness.ClientState;
import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.DealerClient;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.SendResult;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code client}: runs one or more {@link DealerClient}s that each send {@code seq <n>} every
 * interval, and prints their events and the messages they receive as JSON lines on standard
 * output, until SIGTERM or SIGINT (exit 0), or, with --stop-on-conflict, until every client has
 * stopped for good because its identity is in use elsewhere (exit 1).
 */
final class ClientCommand {
    /** How long a receiving thread waits for a message before it looks whether it should stop. */
    private static final Duration RECEIVE_POLL = Duration.ofMillis(200);
    private static final int MAX_CLOSING_THREADS = 32;

    /** One client, its numbering and its tallies. */
    private final class Member {
        final Identity identity;
        final AtomicLong nextSeq = new AtomicLong(1);
        final AtomicLong seqAccepted = new AtomicLong();
        final AtomicLong seqRefused = new AtomicLong();
        final AtomicLong seqReceived = new AtomicLong();
        final AtomicLong otherReceived = new AtomicLong();
        final AtomicBoolean stopped = new AtomicBoolean();
        volatile DealerClient client;
        Thread receiver;

        Member(String identity) {
            this.identity = Identity.of(identity);
        }

        void onEvent(ClientEvent event) {
            out.write(ClientEventJson.of(identity, event));
            if (event.type() == ClientEvent.Type.STOPPED && stopped.compareAndSet(false, true)) {
                allStopped.countDown();
            }
        }

        void sendNext() {
            DealerClient c = client;
            if (c == null || c.state() == ClientState.STOPPED) {
                return; // stopped for good: it would only be refused
            }
            SendResult r = c.send(ClientEventJson.seqPayload(nextSeq.getAndIncrement()));
            (r.isAccepted() ? seqAccepted : seqRefused).incrementAndGet();
        }

        void receiveLoop() {
            while (!stopping) {
                Message m = client.receive(RECEIVE_POLL);
                if (m != null) {
                    print(m);
                }
            }
        }

        void print(Message m) {
            (ClientEventJson.seqOf(m) >= 0 ? seqReceived : otherReceived).incrementAndGet();
            out.write(ClientEventJson.ofMessage(identity, m, Instant.now()));
        }
    }

    private final ClientOptions options;
    private final JsonLineWriter out;
    private final PrintStream err;
    private final List<Member> members = new ArrayList<>();
    private final CountDownLatch allStopped;
    /** Set by whichever path ends the command first: the signal's shutdown hook or every client stopping. */
    private final AtomicBoolean finishing = new AtomicBoolean();
    private volatile boolean stopping;
    private ScheduledExecutorService sender;

    ClientCommand(ClientOptions options, JsonLineWriter out, PrintStream err) {
        this.options = options;
        this.out = out;
        this.err = err;
        this.allStopped = new CountDownLatch(options.identities.size());
    }

    /** Runs until a signal stops the JVM (which then exits 0); returns only if every client stopped for good, or none could start. */
    int run() {
        for (String id : options.identities) {
            members.add(new Member(id));
        }
        out.write(new JsonObject()
                .put("event", "starting")
                .put("identities", options.identities)
                .put("endpoints", options.endpoints)
                .put("interval_ms", options.interval.toMillis())
                .put("time", Instant.now().toString()));
        try {
            for (Member m : members) {
                DealerClient.Builder builder = DealerClient.builder()
                        .identity(m.identity)
                        .connect(options.endpoints.toArray(new String[0]))
                        .heartbeat(options.heartbeat, options.liveness)
                        .resume(options.resume).stopOnConflict(options.stopOnConflict)
                        .listener(m::onEvent);
                if (options.curveServerKey != null) {
                    builder.curve(options.curveServerKey, options.curvePublic, options.curveSecret);
                }
                m.client = builder.build();
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("client: " + e.getMessage());
            finishing.set(true);
            stop();
            return Main.EXIT_FAILED;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopOnSignal, "zmq-liveness-cli-stop"));
        for (Member m : members) {
            m.receiver = new Thread(m::receiveLoop, "client-receive-" + m.identity);
            m.receiver.setDaemon(true);
            m.receiver.start();
        }
        sender = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "client-send");
            t.setDaemon(true);
            return t;
        });
        sender.scheduleAtFixedRate(this::sendAll, 0, options.interval.toNanos(), TimeUnit.NANOSECONDS);

        awaitUninterruptibly(allStopped);
        if (finishing.compareAndSet(false, true)) {
            err.println("client: every client has stopped: the server says its identity is in use by another client; "
                    + "give each client an identity no other client uses");
            stop();
            return Main.EXIT_FAILED;
        }
        // The shutdown hook owns the ending now: it closes the clients and halts the JVM.
        awaitUninterruptibly(new CountDownLatch(1));
        return Main.EXIT_OK;
    }

    private void sendAll() {
        for (Member m : members) {
            try {
                m.sendNext();
            } catch (RuntimeException e) {
                // One failed send must not cancel the schedule for every client.
                err.println("client " + m.identity + ": send failed: " + e);
            }
        }
    }

    private void stopOnSignal() {
        if (!finishing.compareAndSet(false, true)) {
            return; // the JVM is exiting for another reason, which chose the exit status
        }
        stop();
        err.flush();
        // A JVM stopped by SIGTERM or SIGINT exits 143 or 130 even after its hooks ran; being asked to stop is success here.
        Runtime.getRuntime().halt(Main.EXIT_OK);
    }

    /** Stops sending, closes every client (each says BYE to its server), prints what was still received, then the summary. */
    private void stop() {
        if (sender != null) {
            sender.shutdownNow();
        }
        stopping = true;
        for (Member m : members) {
            if (m.receiver != null) {
                joinQuietly(m.receiver);
            }
        }
        List<String> states = new ArrayList<>();
        for (Member m : members) {
            states.add(m.client == null ? "not_started" : PeerEventJson.snakeCase(m.client.state()));
        }
        closeAll();
        for (Member m : members) {
            Message left;
            while (m.client != null && (left = m.client.receive(Duration.ZERO)) != null) {
                m.print(left);
            }
        }
        JsonObject clients = new JsonObject();
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            JsonObject c = new JsonObject()
                    .put("state", states.get(i))
                    .put("seq_sent", m.seqAccepted.get())
                    .put("seq_refused", m.seqRefused.get())
                    .put("seq_received", m.seqReceived.get())
                    .put("other_received", m.otherReceived.get());
            if (m.client != null) {
                c.put("counters", m.client.counters());
            }
            clients.put(m.identity.toString(), c);
        }
        out.write(new JsonObject()
                .put("event", "exited")
                .put("time", Instant.now().toString())
                .put("clients", clients));
    }

    /** In parallel: a client whose server is unreachable may take its whole close timeout. */
    private void closeAll() {
        ExecutorService closers = Executors.newFixedThreadPool(Math.max(1, Math.min(MAX_CLOSING_THREADS, members.size())), r -> {
            Thread t = new Thread(r, "client-close");
            t.setDaemon(true);
            return t;
        });
        for (Member m : members) {
            DealerClient c = m.client;
            if (c != null) {
                closers.execute(c::close);
            }
        }
        closers.shutdown();
        try {
            if (!closers.awaitTermination(30, TimeUnit.SECONDS)) {
                err.println("client: some clients did not close within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // keep waiting: only the clients or the shutdown hook end the process from here
            }
        }
    }
}
