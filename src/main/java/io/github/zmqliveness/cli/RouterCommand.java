package io.github.zmqliveness.cli;

import io.github.zmqliveness.AuthorizedKeys;
import io.github.zmqliveness.CurveKeyPair;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerListener;
import io.github.zmqliveness.Stall;
import io.github.zmqliveness.Message;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code router}: runs a {@link LivenessRouter} and prints each peer event as one JSON line on
 * standard output, until SIGTERM or SIGINT.
 */
final class RouterCommand {
    private final RouterOptions options;
    private final JsonLineWriter out;
    private final PrintStream err;
    /** Set by whichever path ends the router first: the signal's shutdown hook or the serving loop. */
    private final AtomicBoolean finishing = new AtomicBoolean();

    RouterCommand(RouterOptions options, JsonLineWriter out, PrintStream err) {
        this.options = options;
        this.out = out;
        this.err = err;
    }

    /** Serves until a signal stops the JVM (which then exits 0); returns only if the router fails. */
    int run() {
        LivenessRouter router;
        try {
            LivenessRouter.Builder builder = LivenessRouter.builder()
                    .heartbeatInterval(options.heartbeat)
                    .liveness(options.liveness)
                    .listener(new PeerListener() {
                        @Override
                        public void onEvent(PeerEvent event) {
                            out.write(PeerEventJson.of(event));
                        }

                        @Override
                        public void onStall(Stall stall) {
                            out.write(PeerEventJson.of(stall));
                        }
                    });
            options.endpoints.forEach(builder::bind);
            if (options.curveSecret != null) {
                builder.curve(options.curveSecret, AuthorizedKeys.load(Path.of(options.authorizedKeys)));
            }
            router = builder.build();
        } catch (IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            err.println("router: " + e.getMessage());
            return 1;
        }
        JsonObject listening = new JsonObject()
                .put("event", "listening")
                .put("endpoints", router.endpoints());
        if (options.curveSecret != null) {
            listening.put("curve_public_key", CurveKeyPair.fromSecret(options.curveSecret).publicKey());
        }
        out.write(listening.put("time", Instant.now().toString()));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopOnSignal(router), "zmq-liveness-cli-stop"));

        serve(router);

        if (finishing.compareAndSet(false, true)) {
            err.println("router: the router stopped by itself; see the log above");
            stop(router);
            return 1;
        }
        // The shutdown hook owns the ending now: it closes the router and halts the JVM.
        waitForever();
        return 0;
    }

    /** Drains received messages (echoing them if asked) so the receive queue never fills and pauses reading. */
    private void serve(LivenessRouter router) {
        Message m;
        while ((m = router.receive()) != null) {
            if (options.echo) {
                // A refused echo (peer gone meanwhile, queue full) is counted in the stats; nothing to add here.
                router.send(m.identity(), m.frames());
            }
        }
    }

    private void stopOnSignal(LivenessRouter router) {
        if (!finishing.compareAndSet(false, true)) {
            return; // the JVM is exiting for another reason, which chose the exit status
        }
        stop(router);
        err.flush();
        // A JVM stopped by SIGTERM or SIGINT exits 143 or 130 even after its hooks ran; being asked to stop is success here.
        Runtime.getRuntime().halt(0);
    }

    private void stop(LivenessRouter router) {
        router.close(); // delivers the events still queued, so "stopped" is the last line
        out.write(new JsonObject()
                .put("event", "stopped")
                .put("time", Instant.now().toString())
                .put("stats", router.stats().asMap()));
    }

    private static void waitForever() {
        CountDownLatch never = new CountDownLatch(1);
        while (true) {
            try {
                never.await();
            } catch (InterruptedException e) {
                // keep waiting: only the shutdown hook ends the process from here
            }
        }
    }
}
