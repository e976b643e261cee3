package io.github.zmqliveness.examples;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZFrame;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import static io.github.zmqliveness.examples.RawMajordomoBroker.DISCONNECT;
import static io.github.zmqliveness.examples.RawMajordomoBroker.HEARTBEAT;
import static io.github.zmqliveness.examples.RawMajordomoBroker.READY;
import static io.github.zmqliveness.examples.RawMajordomoBroker.REPLY;
import static io.github.zmqliveness.examples.RawMajordomoBroker.REQUEST;
import static io.github.zmqliveness.examples.RawMajordomoBroker.WORKER;

/**
 * Before: a Majordomo worker for {@link RawMajordomoBroker}, as the Guide's worker API builds it. It says READY for
 * its service, heartbeats every interval, answers each request with {@code name + ":" + body}, and when the broker
 * has been silent for {@code liveness} intervals (or says DISCONNECT) it starts over on a new socket after a backoff
 * that doubles up to 32 intervals.
 */
public final class RawMajordomoWorker implements AutoCloseable {
    private final ZContext ctx = new ZContext(1);
    private final String name;
    private final String service;
    private final String endpoint;
    private final Thread thread;
    private volatile boolean running = true;

    public RawMajordomoWorker(String name, String service, String endpoint, long intervalMillis, int liveness) {
        this.name = name;
        this.service = service;
        this.endpoint = endpoint;
        thread = new Thread(() -> run(intervalMillis, liveness), "raw-majordomo-worker-" + name);
        thread.start();
    }

    private ZMQ.Socket connect() {
        ZMQ.Socket worker = ctx.createSocket(SocketType.DEALER);
        worker.setLinger(0);
        worker.connect(endpoint);
        send(worker, READY, new ZMsg().addString(service));
        return worker;
    }

    private static void send(ZMQ.Socket worker, byte command, ZMsg body) { // ["", MDPW01, command, body...]
        ZMsg msg = body == null ? new ZMsg() : body;
        msg.push(new byte[] {command});
        msg.push(WORKER);
        msg.push(new byte[0]);
        msg.send(worker);
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
            boolean reconnect = false;
            if (poller.pollin(0)) {
                ZMsg msg = ZMsg.recvMsg(worker); // ["", MDPW01, command, ...]
                missed = 0;
                backoff = intervalMillis;
                msg.pop();
                msg.pop();
                byte command = msg.pop().getData()[0];
                if (command == REQUEST) { // [client, "", body]
                    ZFrame client = msg.unwrap();
                    String body = msg.popString();
                    ZMsg reply = new ZMsg().addString(name + ":" + body);
                    reply.wrap(client);
                    send(worker, REPLY, reply);
                } else if (command == DISCONNECT) {
                    reconnect = true;
                } // HEARTBEAT: nothing more to do
            } else if (++missed >= liveness) {
                reconnect = true;
            }
            poller.close();
            if (reconnect) {
                ctx.destroySocket(worker);
                try {
                    Thread.sleep(backoff); // the Guide's worker sleeps here too: nothing else to do meanwhile
                } catch (InterruptedException e) {
                    return;
                }
                backoff = Math.min(backoff * 2, intervalMillis * 32);
                worker = connect();
                missed = 0;
            }
            if (System.currentTimeMillis() >= heartbeatAt) {
                send(worker, HEARTBEAT, null);
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
