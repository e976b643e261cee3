package io.github.zmqliveness.examples;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.PeerEvent;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * After: the same queue as {@link RawPirateQueue}, its backend a caller-driven {@link LivenessRouter} in the same
 * poll loop as the raw frontend. Workers ({@link LivenessPirateWorker}) are DealerClients: the heartbeats on both
 * sides, the expiry of a dead worker (its connection released too) and a worker's reconnection are the library's,
 * so the queue keeps only its list of free workers: a worker is free when it joins and after each reply, and gone
 * when it is evicted or leaves.
 */
public final class LivenessPirateQueue implements AutoCloseable {
    private final ZContext ctx = new ZContext(1);
    private final ZMQ.Socket frontend;
    private final LivenessRouter backend;
    private final Queue<PeerEvent> events = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean running = true;
    private final ArrayDeque<Identity> free = new ArrayDeque<>();
    private volatile int freeWorkers;

    public LivenessPirateQueue(Duration interval, int liveness) {
        frontend = ctx.createSocket(SocketType.ROUTER);
        frontend.bind("tcp://127.0.0.1:*");
        backend = LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .heartbeatInterval(interval).liveness(liveness).listener(events::add).build();
        thread = new Thread(this::run, "liveness-pirate-queue");
        thread.start();
    }

    public String frontendEndpoint() {
        return frontend.getLastEndpoint();
    }

    public String backendEndpoint() {
        return backend.endpoints().get(0);
    }

    public int freeWorkers() {
        return freeWorkers;
    }

    private void run() {
        ZMQ.Poller both = ctx.createPoller(2);
        both.register(backend.pollHandle(), ZMQ.Poller.POLLIN);
        both.register(frontend, ZMQ.Poller.POLLIN);
        ZMQ.Poller backendOnly = ctx.createPoller(1);
        backendOnly.register(backend.pollHandle(), ZMQ.Poller.POLLIN);
        while (running) {
            ZMQ.Poller poller = free.isEmpty() ? backendOnly : both;
            if (poller.poll(backend.timeUntilWork().toMillis()) < 0) {
                break;
            }
            backend.doWork();
            for (PeerEvent e; (e = events.poll()) != null; ) {
                if (e.type() == PeerEvent.Type.JOINED) {
                    free.add(e.identity());
                } else if (e.type() == PeerEvent.Type.EVICTED || e.type() == PeerEvent.Type.LEFT) {
                    free.remove(e.identity());
                }
            }
            for (Message reply; (reply = backend.receive(Duration.ZERO)) != null; ) {
                free.add(reply.identity());
                ZMsg out = new ZMsg();
                reply.frames().forEach(out::add); // [client, "", reply]
                out.send(frontend);
            }
            if (poller == both && poller.pollin(1)) {
                ZMsg request = ZMsg.recvMsg(frontend); // [client, "", body]
                byte[][] frames = request.stream().map(f -> f.getData()).toArray(byte[][]::new);
                while (!free.isEmpty() && !backend.send(free.poll(), frames).isAccepted()) {
                    // that worker was evicted a moment ago: the next one
                }
            }
            freeWorkers = free.size();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        backend.close();
        ctx.close();
    }
}
