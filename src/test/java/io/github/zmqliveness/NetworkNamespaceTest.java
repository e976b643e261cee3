package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import io.github.zmqliveness.support.Net;
import io.github.zmqliveness.support.NetNs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients behind real links that fail: each client runs in a network namespace of its own,
 * joined to this host by veth links ({@link NetNs}), and the test cuts a link under an
 * established connection. Nothing is faked above the kernel: no FIN and no RST reach either side,
 * both TCP stacks keep their sockets, exactly as when a cable is pulled or a Wi-Fi network drops.
 * The router binds on the host side of the links and runs in this JVM, so /proc/net/tcp here is
 * the router's side of every connection.
 */
class NetworkNamespaceTest {
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final int LIVENESS = 3;
    private static final long BOUND_NANOS = INTERVAL.toNanos() * (LIVENESS + 1);
    /** How long a client takes to start, or to reconnect once its own TCP notices; not the router's doing. */
    private static final Duration CLIENT_TIME = Duration.ofSeconds(30);

    enum Cut { LINK_DOWN, BLACKHOLE }

    enum Client { JEROMQ, LIBZMQ }

    private final EventRecorder events = new EventRecorder();
    private final List<ChildProcess> children = new ArrayList<>();
    private NetNs ns;
    private LivenessRouter router;

    @BeforeEach
    void facilities() {
        Facilities.requireProcFs();
        Facilities.requireRootNetns();
    }

    @AfterEach
    void cleanUp() throws InterruptedException {
        for (ChildProcess c : children) {
            c.close();
        }
        if (router != null) {
            router.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    static Stream<Arguments> halfOpenCases() {
        return Stream.of(Arguments.of(Client.JEROMQ, Cut.LINK_DOWN), Arguments.of(Client.JEROMQ, Cut.BLACKHOLE),
                Arguments.of(Client.LIBZMQ, Cut.LINK_DOWN), Arguments.of(Client.LIBZMQ, Cut.BLACKHOLE));
    }

    @ParameterizedTest(name = "{0} client, link cut by {1}")
    @MethodSource("halfOpenCases")
    void halfOpenClientBehindACutLinkIsEvictedWithinTheBoundReleasedAndRejoinsWhenTheLinkReturns(Client client, Cut cut)
            throws Exception {
        if (client == Client.LIBZMQ) {
            Facilities.requirePyzmq();
        }
        if (cut == Cut.BLACKHOLE) {
            Facilities.requireNftables();
        }
        ns = NetNs.create(1);
        NetNs.Link link = ns.link(0);
        router = LivenessRouter.builder().bind("tcp://" + link.hostAddress + ":*").heartbeatInterval(INTERVAL).liveness(LIVENESS)
                .listener(events).handler(m -> { }).build();
        int routerPort = Net.port(router.endpoints().get(0));
        Identity id = Identity.of("roamer");

        clientInNamespace(client, router.endpoints().get(0), "roamer");
        PeerEvent joined = events.awaitType(PeerEvent.Type.JOINED, id, 0, CLIENT_TIME).event;
        assertTrue(joined.address().startsWith(link.nsAddress + ":"), "the client comes from inside the namespace: " + joined);
        int clientPort = Net.port(joined.address());
        List<Net.Tcp> before = open(routerPort, clientPort);
        assertEquals(1, before.size(), "one router-side socket for the client: " + before);
        long inode = before.get(0).inode;

        long cutAt = System.nanoTime(); // taken before the cut starts: the bound is measured generously against the router
        cut(cut, link);
        EventRecorder.Seen evicted = events.awaitEvicted(id, cutAt, Duration.ofSeconds(10));
        long delay = evicted.nanos - cutAt;
        System.out.println(client + " client, " + cut + ": evicted " + TimeUnit.NANOSECONDS.toMillis(delay) + " ms after the cut, bound "
                + TimeUnit.NANOSECONDS.toMillis(BOUND_NANOS) + " ms");
        assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason(), "a silent link is found by the ZMTP heartbeat");
        assertTrue(delay <= BOUND_NANOS, "evicted " + TimeUnit.NANOSECONDS.toMillis(delay) + " ms after the link was cut; bound "
                + TimeUnit.NANOSECONDS.toMillis(BOUND_NANOS) + " ms (interval x liveness + interval)");
        assertTrue(router.peer(id).isEmpty(), "the identity has left the table");

        // Nothing reaches the client, yet the router holds nothing for it: no open socket, no descriptor.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertEquals(List.of(), open(routerPort, clientPort), "router-side socket of the dead connection still open");
            assertFalse(Net.socketInodes().contains(inode), "the router still holds the dead connection's file descriptor");
            assertEquals(0, router.connectionCount());
        });

        long restoredAt = System.nanoTime();
        restore(cut, link);
        EventRecorder.Seen rejoined = events.awaitType(PeerEvent.Type.JOINED, id, evicted.nanos, CLIENT_TIME);
        System.out.println(client + " client, " + cut + ": rejoined " + TimeUnit.NANOSECONDS.toMillis(rejoined.nanos - restoredAt)
                + " ms after the link came back");
        assertTrue(rejoined.nanos >= restoredAt, "nothing can rejoin through a cut link");
        assertTrue(rejoined.event.address().startsWith(link.nsAddress + ":"), rejoined.event.toString());
        // A new connection: the kernel may hand the client its old port again (the old socket is gone on both
        // sides), so compare the router-side sockets, not the ports.
        List<Net.Tcp> after = open(routerPort, Net.port(rejoined.event.address()));
        assertEquals(1, after.size(), "one router-side socket for the rejoined client: " + after);
        assertNotEquals(inode, after.get(0).inode, "it came back on a new connection");

        // Back to exactly one connection, held steadily: no flapping, no conflict, no takeover.
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertEquals(1, router.connectionCount());
            assertEquals(1, established(routerPort).size(), "router-side sockets: " + established(routerPort));
            assertEquals(PeerState.ALIVE, router.peer(id).orElseThrow().state());
            assertEquals(1, events.count(PeerEvent.Type.EVICTED, id));
        });
        // A plain DEALER has one session per connection: the old one ended with the eviction, the rejoin began another.
        assertEquals(List.of(PeerEvent.Type.JOINED, PeerEvent.Type.SESSION_STARTED, PeerEvent.Type.EVICTED, PeerEvent.Type.SESSION_ENDED,
                PeerEvent.Type.JOINED, PeerEvent.Type.SESSION_STARTED), types(id));
    }

    /**
     * The client moves before the router could notice: its old link dies silently and it is back
     * on another network at once. The heartbeat is long (20 s, so detecting the dead link takes at
     * least 10 s) so that the identity reappears first: that makes the move a takeover, and the
     * router must shut the old connection itself.
     */
    @Test
    void clientThatMovesToAnotherNetworkBeforeTheDeadLinkIsNoticedIsTakenOverAndKeepsOneConnection() throws Exception {
        ns = NetNs.create(2);
        NetNs.Link wifi = ns.link(0);
        NetNs.Link lte = ns.link(1);
        router = LivenessRouter.builder().bind("tcp://" + wifi.hostAddress + ":*").bind("tcp://" + lte.hostAddress + ":*")
                .heartbeatInterval(Duration.ofSeconds(20)).listener(events).handler(m -> { }).build();
        int wifiPort = Net.port(router.endpoints().get(0));
        int ltePort = Net.port(router.endpoints().get(1));
        Identity id = Identity.of("laptop");

        clientInNamespace(Client.JEROMQ, router.endpoints().get(0), "laptop");
        PeerEvent joined = events.awaitType(PeerEvent.Type.JOINED, id, 0, CLIENT_TIME).event;
        assertTrue(joined.address().startsWith(wifi.nsAddress + ":"), joined.toString());
        int oldPort = Net.port(joined.address());
        long oldInode = open(wifiPort, oldPort).get(0).inode;

        ns.linkDown(wifi);
        long cutAt = System.nanoTime();
        ChildProcess onLte = clientInNamespace(Client.JEROMQ, router.endpoints().get(1), "laptop");
        EventRecorder.Seen took = events.awaitType(PeerEvent.Type.TOOK_OVER, id, 0, CLIENT_TIME);
        assertTrue(took.nanos - cutAt < TimeUnit.SECONDS.toNanos(10),
                "the move must come before the router can have noticed the dead link, or this is not the takeover case");
        assertEquals(joined.address(), took.event.previousAddress());
        assertTrue(took.event.address().startsWith(lte.nsAddress + ":"), "now from the second network: " + took.event);

        // The old connection is shut by the router itself (its link is dead: no FIN came), and only one is left.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertEquals(List.of(), open(wifiPort, oldPort), "the old connection is still open on the router side");
            assertFalse(Net.socketInodes().contains(oldInode), "the router still holds the old connection's file descriptor");
        });
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertEquals(1, router.connectionCount());
            List<Net.Tcp> all = new ArrayList<>(established(wifiPort));
            all.addAll(established(ltePort));
            assertEquals(1, all.size(), "exactly one router-side connection for the identity: " + all);
            assertEquals(List.of(PeerEvent.Type.JOINED, PeerEvent.Type.SESSION_STARTED, PeerEvent.Type.TOOK_OVER, PeerEvent.Type.SESSION_ENDED,
                    PeerEvent.Type.SESSION_STARTED), types(id), "a move is one takeover (and a new session), never a conflict");
        });
        // The old connection's session ended with the move; a reply computed for it reaches nobody.
        Session before = events.of(id).stream().filter(e -> e.type() == PeerEvent.Type.SESSION_STARTED).findFirst().orElseThrow().session();
        Session now = events.of(id).stream().filter(e -> e.type() == PeerEvent.Type.SESSION_STARTED).reduce((a, b) -> b).orElseThrow().session();
        assertNotEquals(before.number(), now.number());
        assertEquals(before, events.of(id).stream().filter(e -> e.type() == PeerEvent.Type.SESSION_ENDED).findFirst().orElseThrow().session());
        assertEquals(SendResult.STALE_SESSION, router.send(before, "for the wifi connection".getBytes()));
        PeerSnapshot row = router.peer(id).orElseThrow();
        assertEquals(took.event.address(), row.address());
        assertEquals(1, row.takeovers());
        assertEquals(1, router.stats().get("zombiesShut"));
        assertEquals(0, router.stats().conflicts());

        assertEquals(SendResult.QUEUED, router.send(id, "welcome back".getBytes()));
        onLte.awaitLine("reply welcome back", Duration.ofSeconds(5));
    }

    /**
     * The client moves after the router already found the old link dead (interval 300 ms): the old
     * identity was evicted, so the new connection is a fresh join, not a takeover, and never a conflict.
     */
    @Test
    void clientThatMovesAfterTheDeadLinkWasNoticedIsEvictedThenJoinsAgainAndKeepsOneConnection() throws Exception {
        ns = NetNs.create(2);
        NetNs.Link wifi = ns.link(0);
        NetNs.Link lte = ns.link(1);
        router = LivenessRouter.builder().bind("tcp://" + wifi.hostAddress + ":*").bind("tcp://" + lte.hostAddress + ":*")
                .heartbeatInterval(INTERVAL).liveness(LIVENESS).listener(events).handler(m -> { }).build();
        int wifiPort = Net.port(router.endpoints().get(0));
        int ltePort = Net.port(router.endpoints().get(1));
        Identity id = Identity.of("laptop");

        clientInNamespace(Client.JEROMQ, router.endpoints().get(0), "laptop");
        PeerEvent joined = events.awaitType(PeerEvent.Type.JOINED, id, 0, CLIENT_TIME).event;
        int oldPort = Net.port(joined.address());

        long cutAt = System.nanoTime();
        ns.linkDown(wifi);
        EventRecorder.Seen evicted = events.awaitEvicted(id, cutAt, Duration.ofSeconds(10));
        assertEquals(EvictReason.TRANSPORT_LOST, evicted.event.reason());
        assertTrue(evicted.nanos - cutAt <= BOUND_NANOS, "evicted " + TimeUnit.NANOSECONDS.toMillis(evicted.nanos - cutAt) + " ms after the cut");

        ChildProcess onLte = clientInNamespace(Client.JEROMQ, router.endpoints().get(1), "laptop");
        EventRecorder.Seen rejoined = events.awaitType(PeerEvent.Type.JOINED, id, evicted.nanos, CLIENT_TIME);
        assertTrue(rejoined.event.address().startsWith(lte.nsAddress + ":"), rejoined.event.toString());

        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertEquals(1, router.connectionCount());
            assertEquals(List.of(), open(wifiPort, oldPort), "the dead connection is still open on the router side");
            List<Net.Tcp> all = new ArrayList<>(established(wifiPort));
            all.addAll(established(ltePort));
            assertEquals(1, all.size(), "exactly one router-side connection for the identity: " + all);
            assertEquals(List.of(PeerEvent.Type.JOINED, PeerEvent.Type.SESSION_STARTED, PeerEvent.Type.EVICTED, PeerEvent.Type.SESSION_ENDED,
                    PeerEvent.Type.JOINED, PeerEvent.Type.SESSION_STARTED), types(id),
                    "the old identity was already gone: a fresh join, no takeover, no conflict");
        });
        assertEquals(0, router.stats().takeovers());
        assertEquals(0, router.stats().conflicts());
        assertEquals(SendResult.QUEUED, router.send(id, "welcome back".getBytes()));
        onLte.awaitLine("reply welcome back", Duration.ofSeconds(5));
    }

    // ------------------------------------------------------------------ helpers

    private ChildProcess clientInNamespace(Client client, String endpoint, String identity) throws IOException {
        List<String> cmd = client == Client.JEROMQ
                ? ChildProcess.jeromqDealerCommand(endpoint, identity, 100)
                : ChildProcess.libzmqDealerCommand(endpoint, identity, 100);
        ChildProcess c = ChildProcess.start(ns.exec(cmd));
        children.add(c);
        return c;
    }

    private void cut(Cut how, NetNs.Link link) throws IOException {
        if (how == Cut.LINK_DOWN) {
            ns.linkDown(link);
        } else {
            ns.blackhole(link);
        }
    }

    private void restore(Cut how, NetNs.Link link) throws IOException {
        if (how == Cut.LINK_DOWN) {
            ns.linkUp(link);
        } else {
            ns.unblackhole(link);
        }
    }

    private List<PeerEvent.Type> types(Identity id) {
        return events.of(id).stream().map(PeerEvent::type).collect(Collectors.toList());
    }

    /** Router-side sockets of one connection that still hold it open. */
    private static List<Net.Tcp> open(int routerPort, int clientPort) {
        return Net.between(routerPort, clientPort).stream()
                .filter(t -> t.state.equals("ESTABLISHED") || t.state.equals("CLOSE_WAIT")).collect(Collectors.toList());
    }

    private static List<Net.Tcp> established(int routerPort) {
        return Net.tcp().stream().filter(t -> t.localPort == routerPort && t.state.equals("ESTABLISHED")).collect(Collectors.toList());
    }
}
