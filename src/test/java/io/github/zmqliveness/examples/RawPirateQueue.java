package io.github.zmqliveness.examples;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZFrame;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Before: the Paranoid Pirate queue of the ZeroMQ Guide (chapter 4) on two raw JeroMQ ROUTERs. Clients (REQ, retrying
 * as Lazy Pirate clients do) talk to the frontend; workers ({@link RawPirateWorker}) talk to the backend. The queue
 * keeps its workers' liveness itself: a worker says READY, then HEARTBEAT every interval; the queue heartbeats every
 * worker, forgets one not heard for {@code liveness} intervals, and hands each request to the worker free longest.
 * It polls the frontend only while a worker is free: back-pressure.
 */
public final class RawPirateQueue implements AutoCloseable {
    static final byte[] READY = {1};
    static final byte[] HEARTBEAT = {2};

    private final ZContext ctx = new ZContext(1);
    private final ZMQ.Socket frontend;
    private final ZMQ.Socket backend;
    private final long intervalMillis;
    private final int liveness;
    private final Thread thread;
    private volatile boolean running = true;
    /** Free workers (routing id, as a String of ISO-8859-1 chars so that it can be a key) and when each expires; oldest first. */
    private final Map<String, Long> free = new LinkedHashMap<>();
    private volatile int freeWorkers;

    public RawPirateQueue(long intervalMillis, int liveness) {
        this.intervalMillis = intervalMillis;
        this.liveness = liveness;
        frontend = ctx.createSocket(SocketType.ROUTER);
        backend = ctx.createSocket(SocketType.ROUTER);
        frontend.bind("tcp://127.0.0.1:*");
        backend.bind("tcp://127.0.0.1:*");
        thread = new Thread(this::run, "raw-pirate-queue");
        thread.start();
    }

    public String frontendEndpoint() {
        return frontend.getLastEndpoint();
    }

    public String backendEndpoint() {
        return backend.getLastEndpoint();
    }

    /** Workers the queue holds as free now. */
    public int freeWorkers() {
        return freeWorkers;
    }

    private static String key(byte[] id) {
        return new String(id, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private void run() {
        ZMQ.Poller both = ctx.createPoller(2);
        both.register(backend, ZMQ.Poller.POLLIN);
        both.register(frontend, ZMQ.Poller.POLLIN);
        ZMQ.Poller backendOnly = ctx.createPoller(1);
        backendOnly.register(backend, ZMQ.Poller.POLLIN);
        long heartbeatAt = System.currentTimeMillis() + intervalMillis;
        while (running) {
            ZMQ.Poller poller = free.isEmpty() ? backendOnly : both;
            if (poller.poll(intervalMillis) < 0) {
                break;
            }
            if (poller.pollin(0)) {
                ZMsg msg = ZMsg.recvMsg(backend);
                byte[] worker = msg.pop().getData();
                free.remove(key(worker));
                free.put(key(worker), System.currentTimeMillis() + intervalMillis * liveness);
                ZFrame first = msg.getFirst();
                boolean control = msg.size() == 1
                        && (Arrays.equals(first.getData(), READY) || Arrays.equals(first.getData(), HEARTBEAT));
                if (!control) {
                    msg.send(frontend); // [client, "", reply]
                }
            }
            if (poller == both && poller.pollin(1)) {
                ZMsg request = ZMsg.recvMsg(frontend); // [client, "", body]
                Iterator<String> oldest = free.keySet().iterator();
                String worker = oldest.next();
                oldest.remove();
                request.push(worker.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                request.send(backend);
            }
            long now = System.currentTimeMillis();
            if (now >= heartbeatAt) {
                for (String worker : free.keySet()) {
                    backend.sendMore(worker.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                    backend.send(HEARTBEAT);
                }
                heartbeatAt = now + intervalMillis;
            }
            free.values().removeIf(expiry -> expiry < now);
            freeWorkers = free.size();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        ctx.close();
    }
}
