package io.github.zmqliveness.examples;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZFrame;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Before: a Majordomo broker (MDP/0.1) on a raw JeroMQ ROUTER, as the Guide builds it. Clients
 * ({@link MajordomoClient}) and workers ({@link RawMajordomoWorker}) share one socket and are told apart by their
 * header. Requests queue per service until one of its workers is waiting. The broker heartbeats waiting workers every
 * interval and drops a waiting worker not heard from for {@code liveness} intervals; a worker it does not know is told
 * to DISCONNECT. {@code mmi.service} answers "200" if the service has workers, "404" if not.
 */
public final class RawMajordomoBroker implements AutoCloseable {
    static final String WORKER = "MDPW01";
    static final byte READY = 1;
    static final byte REQUEST = 2;
    static final byte REPLY = 3;
    static final byte HEARTBEAT = 4;
    static final byte DISCONNECT = 5;

    private static final class Service {
        final String name;
        final ArrayDeque<ZMsg> requests = new ArrayDeque<>(); // [client, "", body]
        final ArrayDeque<Worker> waiting = new ArrayDeque<>();
        int workers;

        Service(String name) {
            this.name = name;
        }
    }

    private static final class Worker {
        final ZFrame address;
        final String key;
        final Service service;
        long expiry;

        Worker(ZFrame address, Service service) {
            this.address = address;
            this.key = address.strhex();
            this.service = service;
        }
    }

    private final ZContext ctx = new ZContext(1);
    private final ZMQ.Socket socket;
    private final long interval;
    private final int liveness;
    private final Map<String, Service> services = new HashMap<>();
    private final Map<String, Worker> workers = new HashMap<>();
    private final Map<String, Integer> workerCounts = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    public RawMajordomoBroker(long intervalMillis, int liveness) {
        this.interval = intervalMillis;
        this.liveness = liveness;
        socket = ctx.createSocket(SocketType.ROUTER);
        socket.bind("tcp://127.0.0.1:*");
        thread = new Thread(this::run, "raw-majordomo-broker");
        thread.start();
    }

    public String endpoint() {
        return socket.getLastEndpoint();
    }

    /** Workers registered for {@code service}. */
    public int workers(String service) {
        return workerCounts.getOrDefault(service, 0);
    }

    private void run() {
        ZMQ.Poller poller = ctx.createPoller(1);
        poller.register(socket, ZMQ.Poller.POLLIN);
        long heartbeatAt = System.currentTimeMillis() + interval;
        while (running) {
            if (poller.poll(interval) < 0) {
                break;
            }
            if (poller.pollin(0)) {
                ZMsg msg = ZMsg.recvMsg(socket);
                ZFrame sender = msg.pop();
                msg.pop(); // empty
                String header = msg.popString();
                if (MajordomoClient.CLIENT.equals(header)) {
                    onClient(sender, msg);
                } else if (WORKER.equals(header)) {
                    onWorker(sender, msg);
                } // anything else is not Majordomo: dropped
            }
            purge();
            if (System.currentTimeMillis() >= heartbeatAt) {
                for (Service s : services.values()) {
                    for (Worker w : s.waiting) {
                        send(w, HEARTBEAT, null);
                    }
                }
                heartbeatAt = System.currentTimeMillis() + interval;
            }
        }
        poller.close();
    }

    private void onClient(ZFrame sender, ZMsg msg) {
        String name = msg.popString();
        msg.wrap(sender); // [client, "", body]
        if (name.startsWith("mmi.")) {
            Service asked = services.get(msg.getLast().getString(ZMQ.CHARSET));
            msg.removeLast();
            msg.addString(name.equals("mmi.service") ? (asked != null && asked.workers > 0 ? "200" : "404") : "501");
            reply(name, msg);
            return;
        }
        Service service = services.computeIfAbsent(name, Service::new);
        service.requests.add(msg);
        dispatch(service);
    }

    private void onWorker(ZFrame sender, ZMsg msg) {
        byte command = msg.pop().getData()[0];
        Worker worker = workers.get(sender.strhex());
        if (command == READY) {
            if (worker != null) { // READY twice: a protocol error
                delete(worker, true);
            } else {
                Service service = services.computeIfAbsent(msg.popString(), Service::new);
                worker = new Worker(sender, service);
                workers.put(worker.key, worker);
                service.workers++;
                workerCounts.put(service.name, service.workers);
                waiting(worker);
            }
        } else if (worker == null) {
            if (command != DISCONNECT) { // a worker from before a broker restart, or one we dropped: start over
                Worker stranger = new Worker(sender, null);
                send(stranger, DISCONNECT, null);
            }
        } else if (command == REPLY) {
            ZFrame client = msg.unwrap();
            msg.wrap(client); // [client, "", body]
            reply(worker.service.name, msg);
            waiting(worker);
        } else if (command == HEARTBEAT) {
            worker.expiry = System.currentTimeMillis() + interval * liveness;
        } else if (command == DISCONNECT) {
            delete(worker, false);
        }
    }

    private void reply(String service, ZMsg msg) { // msg: [client, "", body]
        ZFrame client = msg.unwrap();
        msg.push(service);
        msg.push(MajordomoClient.CLIENT);
        msg.wrap(client);
        msg.send(socket);
    }

    private void waiting(Worker worker) {
        worker.service.waiting.add(worker);
        worker.expiry = System.currentTimeMillis() + interval * liveness;
        dispatch(worker.service);
    }

    private void dispatch(Service service) {
        purge();
        while (!service.waiting.isEmpty() && !service.requests.isEmpty()) {
            send(service.waiting.poll(), REQUEST, service.requests.poll());
        }
    }

    /** Drops the waiting workers not heard from for liveness intervals; the oldest wait first. */
    private void purge() {
        long now = System.currentTimeMillis();
        for (Service s : services.values()) {
            for (Iterator<Worker> i = s.waiting.iterator(); i.hasNext(); ) {
                Worker w = i.next();
                if (w.expiry < now) {
                    i.remove();
                    delete(w, false);
                }
            }
        }
    }

    private void delete(Worker worker, boolean disconnect) {
        if (disconnect) {
            send(worker, DISCONNECT, null);
        }
        worker.service.waiting.remove(worker);
        worker.service.workers--;
        workerCounts.put(worker.service.name, worker.service.workers);
        workers.remove(worker.key);
    }

    /** [worker, "", MDPW01, command, body...] */
    private void send(Worker worker, byte command, ZMsg body) {
        ZMsg msg = body == null ? new ZMsg() : body;
        msg.push(new byte[] {command});
        msg.push(WORKER);
        msg.wrap(worker.address.duplicate());
        msg.send(socket);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        ctx.close();
    }
}
