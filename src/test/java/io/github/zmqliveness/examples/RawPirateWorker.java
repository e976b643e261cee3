package io.github.zmqliveness.examples;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.nio.charset.StandardCharsets;

/**
 * Before: a Paranoid Pirate worker for {@link RawPirateQueue}. It says READY, heartbeats every interval, answers each
 * request [client, "", body] with [client, "", name + ":" + body], and when the queue has been silent for
 * {@code liveness} intervals it takes it for dead: a new socket, after a backoff that doubles up to 32 intervals.
 */
public final class RawPirateWorker implements AutoCloseable {
    private final ZContext ctx = new ZContext(1);
    private final String name;
    private final String endpoint;
    private final Thread thread;
    private volatile boolean running = true;

    public RawPirateWorker(String name, String endpoint, long intervalMillis, int liveness) {
        this.name = name;
        this.endpoint = endpoint;
        thread = new Thread(() -> run(intervalMillis, liveness), "raw-pirate-worker-" + name);
        thread.start();
    }

    private ZMQ.Socket connect() {
        ZMQ.Socket worker = ctx.createSocket(SocketType.DEALER);
        worker.setIdentity(name.getBytes(StandardCharsets.UTF_8));
        worker.setLinger(0);
        worker.connect(endpoint);
        worker.send(RawPirateQueue.READY);
        return worker;
    }

    private void run(long intervalMillis, int liveness) {
        ZMQ.Socket worker = connect();
        int missed = 0;
        long backoff = intervalMillis;
        long heartbeatAt = System.currentTimeMillis() + intervalMillis;
        while (running) {
            ZMQ.Poller poller = ctx.createPoller(1);
            poller.register(worker, ZMQ.Poller.POLLIN);
            if (poller.poll(intervalMillis) < 0) {
                break;
            }
            if (poller.pollin(0)) {
                ZMsg msg = ZMsg.recvMsg(worker);
                missed = 0;
                backoff = intervalMillis;
                if (msg.size() == 3) { // a request; anything else is the queue's heartbeat
                    String body = msg.removeLast().getString(StandardCharsets.UTF_8);
                    msg.addString(name + ":" + body);
                    msg.send(worker);
                }
            } else if (++missed >= liveness) {
                poller.close();
                ctx.destroySocket(worker);
                try {
                    Thread.sleep(backoff); // the Guide's worker sleeps here too: nothing else to do meanwhile
                } catch (InterruptedException e) {
                    return;
                }
                backoff = Math.min(backoff * 2, intervalMillis * 32);
                worker = connect();
                missed = 0;
                continue;
            }
            poller.close();
            if (System.currentTimeMillis() >= heartbeatAt) {
                worker.send(RawPirateQueue.HEARTBEAT);
                heartbeatAt = System.currentTimeMillis() + intervalMillis;
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        ctx.close();
    }
}
