package io.github.zmqliveness.examples;

import io.github.zmqliveness.Identity;
import io.github.zmqliveness.LivenessRouter;
import io.github.zmqliveness.Message;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.Session;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * After: the broker of {@link RawMajordomoBroker} on one caller-driven {@link LivenessRouter}, driven by
 * {@code receive} on the broker's own thread. Clients are the same plain REQ sockets ({@link MajordomoClient}); workers
 * ({@link LivenessMajordomoWorker}) are DealerClients, so heartbeats, the expiry of a dead worker (its connection
 * released too) and reconnecting are the library's: the worker protocol keeps READY, REQUEST and REPLY, and the broker
 * forgets a worker when it is evicted or leaves. A worker serves one request at a time, so its reply goes to the
 * client session that asked, without an address in the message.
 */
public final class LivenessMajordomoBroker implements AutoCloseable {
    private static final class Service {
        final String name;
        final ArrayDeque<Message> requests = new ArrayDeque<>(); // ["", MDPC01, service, body...]
        final ArrayDeque<Worker> waiting = new ArrayDeque<>();

        Service(String name) {
            this.name = name;
        }
    }

    private static final class Worker {
        final Session session;
        final Service service;
        Message serving;

        Worker(Session session, Service service) {
            this.session = session;
            this.service = service;
        }
    }

    private final LivenessRouter router;
    private final Queue<PeerEvent> events = new ConcurrentLinkedQueue<>();
    private final Map<String, Service> services = new HashMap<>();
    private final Map<Identity, Worker> workers = new HashMap<>();
    private final Map<String, Integer> workerCounts = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    public LivenessMajordomoBroker(Duration interval, int liveness) {
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").callerDriven()
                .heartbeatInterval(interval).liveness(liveness).listener(events::add).build();
        thread = new Thread(this::run, "liveness-majordomo-broker");
        thread.start();
    }

    public String endpoint() {
        return router.endpoints().get(0);
    }

    /** Workers registered for {@code service}. */
    public int workers(String service) {
        return workerCounts.getOrDefault(service, 0);
    }

    private void run() {
        while (running) {
            Message m = router.receive(Duration.ofMillis(100)); // runs the router's loop on this thread
            for (PeerEvent e; (e = events.poll()) != null; ) {
                if (e.type() == PeerEvent.Type.EVICTED || e.type() == PeerEvent.Type.LEFT) {
                    delete(workers.get(e.identity()));
                }
            }
            List<byte[]> f = m == null ? List.of() : m.frames();
            if (f.size() >= 4 && f.get(0).length == 0 && MajordomoClient.CLIENT.equals(text(f.get(1)))) {
                onClient(m, text(f.get(2)));
            } else if (f.size() >= 2 && RawMajordomoBroker.WORKER.equals(text(f.get(0)))) {
                onWorker(m, f.get(1)[0], f);
            } // anything else is not Majordomo: dropped
        }
    }

    private void onClient(Message request, String name) {
        if (name.startsWith("mmi.")) {
            Service asked = services.get(text(request.frames().get(request.frames().size() - 1)));
            String answer = !name.equals("mmi.service") ? "501" : asked != null && workers(asked.name) > 0 ? "200" : "404";
            reply(request, name, List.of(answer.getBytes(StandardCharsets.UTF_8)));
            return;
        }
        Service service = services.computeIfAbsent(name, Service::new);
        service.requests.add(request);
        dispatch(service);
    }

    private void onWorker(Message m, byte command, List<byte[]> f) {
        Worker worker = workers.get(m.identity());
        if (command == RawMajordomoBroker.READY && f.size() == 3 && (worker == null || !worker.session.equals(m.session()))) {
            delete(worker); // that identity's earlier life
            worker = new Worker(m.session(), services.computeIfAbsent(text(f.get(2)), Service::new));
            workers.put(m.identity(), worker);
            workerCounts.merge(worker.service.name, 1, Integer::sum);
            waiting(worker);
        } else if (command == RawMajordomoBroker.REPLY && worker != null && worker.serving != null) {
            reply(worker.serving, worker.service.name, f.subList(2, f.size()));
            worker.serving = null;
            waiting(worker);
        } // READY again from the same life (it resumed): already known
    }

    private void reply(Message request, String service, List<byte[]> body) {
        List<byte[]> out = new ArrayList<>(List.of(new byte[0], MajordomoClient.CLIENT.getBytes(StandardCharsets.UTF_8),
                service.getBytes(StandardCharsets.UTF_8)));
        out.addAll(body);
        router.reply(request, out); // to the client session that asked, or nobody if it has gone
    }

    private void waiting(Worker worker) {
        worker.service.waiting.add(worker);
        dispatch(worker.service);
    }

    private void dispatch(Service service) {
        while (!service.waiting.isEmpty() && !service.requests.isEmpty()) {
            Worker worker = service.waiting.poll();
            Message request = service.requests.poll();
            List<byte[]> out = new ArrayList<>(List.of(RawMajordomoBroker.WORKER.getBytes(StandardCharsets.UTF_8),
                    new byte[] {RawMajordomoBroker.REQUEST}));
            out.addAll(request.frames().subList(3, request.frames().size()));
            if (router.send(worker.session, out.toArray(new byte[0][])).isAccepted()) {
                worker.serving = request;
            } else { // that worker's life ended a moment ago: the next one
                service.requests.addFirst(request);
                delete(worker);
            }
        }
    }

    private void delete(Worker worker) {
        if (worker != null && workers.remove(worker.session.identity(), worker)) {
            worker.service.waiting.remove(worker);
            workerCounts.merge(worker.service.name, -1, Integer::sum);
        }
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        router.close();
    }
}
