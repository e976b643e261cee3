package io.github.zmqliveness;

import io.github.zmqliveness.support.ChildProcess;
import io.github.zmqliveness.support.EventRecorder;
import io.github.zmqliveness.support.Facilities;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CurveIdentityTest}'s checks with real libzmq 4.3 DEALERs (Debian's python3-zmq, {@code curve_dealer.py}) in
 * their own processes: a connection is served under its key's identity whatever routing id it claims, an intruder with
 * another authorized key never receives a message meant for the identity it claims (silent or speaking) and does not
 * disturb its rightful holder, an unknown key is refused in the handshake, a peer without CURVE is never served.
 */
class LibzmqCurveTest {
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final long TICK_MS = 100;
    private static final Identity ALICE = Identity.of("alice");
    private static final Identity MALLORY = Identity.of("mallory");

    private final CurveKeyPair server = CurveKeyPair.generate();
    private final CurveKeyPair alice = CurveKeyPair.generate();
    private final CurveKeyPair mallory = CurveKeyPair.generate();
    private final EventRecorder events = new EventRecorder();
    private final List<Message> received = new CopyOnWriteArrayList<>();
    private final List<ChildProcess> children = new CopyOnWriteArrayList<>();
    private LivenessRouter router;

    @BeforeEach
    void start() {
        Facilities.requirePyzmq();
        AuthorizedKeys keys = AuthorizedKeys.parse(alice.publicKey() + " alice\n" + mallory.publicKey() + " mallory\n");
        router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .curve(server.secretKey(), keys).listener(events)
                .handler(m -> {
                    received.add(m);
                    router.send(m.identity(), m.frames()); // echo to the sender, under the identity it is served as
                }).build();
    }

    @AfterEach
    void stop(TestInfo test) {
        if (router != null) {
            // How often a connection's claimed routing id beat the one the handshake gave it (the connection was shut at
            // its first message and libzmq reconnected): tolerated before a client is served, never after.
            System.out.println(test.getDisplayName() + ": refusedNotAuthorized=" + router.stats().get("refusedNotAuthorized") + " keysAccepted="
                    + router.stats().get("keysAccepted"));
            router.close();
        }
    }

    private String endpoint() {
        return router.endpoints().get(0);
    }

    /** A libzmq DEALER with CURVE keys {@code keys} claiming routing id {@code claim}; each key one argv element. */
    private ChildProcess curveDealer(CurveKeyPair keys, String claim, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("--server-key", server.publicKey(), "--public-key", keys.publicKey(),
                "--secret-key", keys.secretKey()));
        cmd.addAll(List.of(extra));
        return dealer(claim, cmd);
    }

    /** A libzmq DEALER without CURVE (the NULL mechanism) claiming routing id {@code claim}. */
    private ChildProcess nullDealer(String claim, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("--null"));
        cmd.addAll(List.of(extra));
        return dealer(claim, cmd);
    }

    private ChildProcess dealer(String claim, List<String> options) throws IOException {
        String script = LibzmqCurveTest.class.getResource("/curve_dealer.py").getPath();
        List<String> cmd = new ArrayList<>(List.of(Facilities.PYTHON, "-u", script, endpoint(), claim, Long.toString(TICK_MS)));
        cmd.addAll(options);
        ChildProcess child = ChildProcess.start(cmd);
        children.add(child);
        return child;
    }

    /**
     * Waits up to {@link #WAIT} for {@code condition}; if it never holds, the failure says what every child printed, what
     * the router counted and the events it published.
     */
    private void awaitOrTell(Callable<Boolean> condition) {
        try {
            await().atMost(WAIT).pollInterval(Duration.ofMillis(10)).until(condition);
        } catch (ConditionTimeoutException e) {
            StringBuilder b = new StringBuilder(e.getMessage());
            for (ChildProcess c : children) {
                b.append("\nchild ").append(c.pid()).append(c.isAlive() ? " (alive): " : " (exited): ").append(c.lines());
            }
            b.append("\nrouter: ").append(router.stats()).append("\nevents: ").append(events.events())
                    .append("\nthe router's stalls: ").append(events.stalls);
            throw new AssertionError(b.toString(), e);
        }
    }

    /** The first line {@code child} printed that starts with {@code prefix}, once it did. */
    private String line(ChildProcess child, String prefix) {
        awaitOrTell(() -> child.lines().stream().anyMatch(l -> l.startsWith(prefix)) || !child.isAlive());
        return child.awaitLine(prefix, Duration.ofSeconds(1));
    }

    private void joined(Identity id) {
        awaitOrTell(() -> events.count(PeerEvent.Type.JOINED, id) >= 1);
    }

    /**
     * A {@code --silent} child says {@code text} until it is served as {@code id}: a connection whose claimed routing id
     * beat the router's in JeroMQ's handshake is shut at its first message (the message is lost), and libzmq reconnects.
     */
    private void sayUntilServed(ChildProcess child, String text, Identity id) throws IOException {
        for (int attempt = 1; events.count(PeerEvent.Type.JOINED, id) == 0; attempt++) {
            assertTrue(attempt <= 5, "5 connections in a row were refused: " + child.lines());
            long handshakes = count(child, "event HANDSHAKE_SUCCEEDED");
            long disconnects = count(child, "event DISCONNECTED");
            child.tell("say " + text);
            awaitOrTell(() -> events.count(PeerEvent.Type.JOINED, id) > 0 || count(child, "event DISCONNECTED") > disconnects);
            if (events.count(PeerEvent.Type.JOINED, id) == 0) {
                awaitOrTell(() -> count(child, "event HANDSHAKE_SUCCEEDED") > handshakes); // connected again
            }
        }
    }

    private static List<String> replies(ChildProcess p) {
        return p.lines().stream().filter(l -> l.startsWith("reply")).collect(Collectors.toList());
    }

    private static long count(ChildProcess p, String prefix) {
        return p.lines().stream().filter(l -> l.startsWith(prefix)).count();
    }

    private static String text(Message m) {
        return new String(m.first(), StandardCharsets.UTF_8);
    }

    /**
     * The number of handshakes {@code child} completed, once it is being served: two echoes printed, so the monitor event
     * of the handshake of the connection that carried them is printed too (it came before them, and the script handles
     * every ready socket of a poll before the next).
     */
    private long servedHandshakes(ChildProcess child, String echoPrefix) {
        awaitOrTell(() -> count(child, echoPrefix) >= 2);
        return count(child, "event HANDSHAKE_SUCCEEDED");
    }

    /**
     * {@code child} is still on the connection it was served on when it made {@code handshakes} handshakes: none since,
     * and every earlier one closed (one whose claimed routing id beat the router's in JeroMQ's handshake is shut at its
     * first message: libzmq then reconnects; that may happen before a client is served, never after).
     */
    private void assertSameConnection(ChildProcess child, long handshakes) {
        awaitOrTell(() -> count(child, "event DISCONNECTED") >= count(child, "event HANDSHAKE_SUCCEEDED") - 1);
        assertEquals(handshakes, count(child, "event HANDSHAKE_SUCCEEDED"), "no new connection since it was served: " + child.lines());
        assertEquals(handshakes - 1, count(child, "event DISCONNECTED"), "its connection is up: " + child.lines());
    }

    /** Nothing ever happened to alice's connection: no takeover, no eviction, no conflict, the same session and libzmq connection. */
    private void assertAliceUndisturbed(ChildProcess a, Session session, long handshakes) {
        assertEquals(0, events.count(PeerEvent.Type.TOOK_OVER, ALICE), "alice's connection was never taken: " + events.of(ALICE));
        assertEquals(0, events.count(PeerEvent.Type.EVICTED, ALICE), "alice was never evicted: " + events.of(ALICE)
                + "; the router's stalls: " + events.stalls);
        assertEquals(0, events.count(PeerEvent.Type.CONFLICT, ALICE), "no conflict over alice: " + events.of(ALICE));
        assertEquals(1, events.count(PeerEvent.Type.JOINED, ALICE), "alice joined once: " + events.of(ALICE));
        assertEquals(session, router.peer(ALICE).orElseThrow().session(), "alice kept its session");
        assertSameConnection(a, handshakes);
    }

    @Test
    void anAuthorizedLibzmqClientJoinsUnderItsKeysIdentityAndIsEchoed() throws Exception {
        try (ChildProcess a = curveDealer(alice, "alice", "--tag", "alice")) {
            joined(ALICE);
            line(a, "reply tick alice");
            awaitOrTell(() -> count(a, "reply tick alice") >= 3);
            assertTrue(received.stream().allMatch(m -> m.identity().equals(ALICE) && text(m).startsWith("tick alice")),
                    "served as alice: " + received);
            assertTrue(router.stats().get("keysAccepted") >= 1);
            assertEquals(0, router.stats().get("refusedUnknownKey"));
        }
    }

    @Test
    void aLibzmqClientIsServedUnderItsKeysIdentityWhateverRoutingIdItClaims() throws Exception {
        try (ChildProcess a = curveDealer(alice, "not-alice", "--tag", "alice")) {
            joined(ALICE);
            awaitOrTell(() -> count(a, "reply tick alice") >= 3);
            assertTrue(received.stream().allMatch(m -> m.identity().equals(ALICE)), "served as alice: " + received);
            assertTrue(router.peer(Identity.of("not-alice")).isEmpty(), "the claimed routing id is no peer");
            assertEquals(SendResult.QUEUED, router.send(ALICE, "to alice".getBytes(StandardCharsets.UTF_8)));
            line(a, "reply to alice");
        }
    }

    @Test
    void anUnknownLibzmqKeyIsRefusedInTheHandshakeAndNeverServed() throws Exception {
        CurveKeyPair stranger = CurveKeyPair.generate();
        try (ChildProcess s = curveDealer(stranger, "alice", "--tag", "stranger")) {
            // Stops early if the stranger is served instead.
            awaitOrTell(() -> events.events().stream().anyMatch(e -> e.type() == PeerEvent.Type.REFUSED)
                    || count(s, "ready") > 0 || router.stats().get("messagesReceived") > 0);
            assertEquals(0, count(s, "ready"), "its handshake never succeeded: " + s.lines());
            assertEquals(0, router.stats().get("messagesReceived"), "nothing of the stranger's was read");
            EventRecorder.Seen refused = events.first(e -> e.type() == PeerEvent.Type.REFUSED, 0).orElseThrow();
            assertEquals(RefusalReason.UNKNOWN_KEY, refused.event.refusal(), refused.event.toString());
            assertNull(refused.event.identity(), refused.event.toString());
            assertTrue(refused.event.address().startsWith("127.0.0.1"), refused.event.toString());
            // libzmq is told why (ZAP status 400) and does not try again: once its connection is gone, all is said.
            assertEquals("event HANDSHAKE_FAILED_AUTH 400", line(s, "event HANDSHAKE_FAILED_AUTH"), s.lines().toString());
            line(s, "event DISCONNECTED");
            awaitOrTell(() -> router.stats().get("closedBeforeFirstMessage") >= 1 && router.connectionCount() == 0);
            assertTrue(router.stats().get("refusedUnknownKey") >= 1);
            assertTrue(events.events().stream().filter(e -> e.type() == PeerEvent.Type.REFUSED)
                    .allMatch(e -> e.refusal() == RefusalReason.UNKNOWN_KEY && e.identity() == null), events.events().toString());
            assertEquals(0, router.stats().get("keysAccepted"));
            assertEquals(0, router.stats().get("messagesReceived"), "nothing of the stranger's was read");
            assertTrue(received.isEmpty(), received.toString());
            assertTrue(router.peers().isEmpty(), router.peers().toString());
            assertEquals(0, events.count(PeerEvent.Type.JOINED, ALICE));
            assertEquals(List.of(), replies(s), "the stranger received nothing");
        }
    }

    @Test
    void aSilentLibzmqIntruderClaimingAlicesRoutingIdNeverReceivesAlicesMessages() throws Exception {
        try (ChildProcess a = curveDealer(alice, "alice", "--tag", "alice")) {
            joined(ALICE);
            long aliceHandshakes = servedHandshakes(a, "reply tick alice");
            Session session = router.peer(ALICE).orElseThrow().session();
            long accepted = router.stats().get("keysAccepted");
            try (ChildProcess intruder = curveDealer(mallory, "alice", "--silent")) {
                line(intruder, "ready");
                awaitOrTell(() -> router.stats().get("keysAccepted") >= accepted + 1);

                int n = 100;
                for (int i = 0; i < n; i++) {
                    assertEquals(SendResult.QUEUED, router.send(ALICE, ("for-alice " + i).getBytes(StandardCharsets.UTF_8)));
                }
                // Stops early if the intruder prints anything: then it got what was meant for alice.
                awaitOrTell(() -> count(a, "reply for-alice ") >= n || count(intruder, "reply") > 0);
                assertEquals(List.of(), replies(intruder), "the silent intruder received messages meant for alice");
                List<String> expected = IntStream.range(0, n).mapToObj(i -> "reply for-alice " + i).collect(Collectors.toList());
                assertEquals(expected, a.lines().stream().filter(l -> l.startsWith("reply for-alice ")).collect(Collectors.toList()),
                        "alice got every message, once, in order");

                // The intruder has been silent all along, so the router cannot route anything to it yet: now it speaks
                // once, is served under its key's identity, and a marker sent to that identity must reach it. Whatever
                // the router wrote to its connection before (a message meant for alice, say) would be printed first.
                sayUntilServed(intruder, "hello from the intruder", MALLORY);
                line(intruder, "reply hello from the intruder"); // the handler's echo
                assertEquals(SendResult.QUEUED, router.send(MALLORY, "marker".getBytes(StandardCharsets.UTF_8)));
                line(intruder, "reply marker");
                assertEquals(List.of("reply hello from the intruder", "reply marker"), replies(intruder),
                        "the intruder received nothing meant for alice: " + intruder.lines());
                assertTrue(received.stream().filter(m -> text(m).startsWith("hello from")).allMatch(m -> m.identity().equals(MALLORY)),
                        "served under its key's identity: " + received);
                assertEquals(0, count(a, "reply hello") + count(a, "reply marker"), "alice got nothing of mallory's: " + a.lines());
                assertAliceUndisturbed(a, session, aliceHandshakes);
            }
        }
    }

    @Test
    void aSpeakingLibzmqIntruderClaimingAlicesRoutingIdIsServedAsItsKeysIdentityAndAliceIsUndisturbed() throws Exception {
        try (ChildProcess a = curveDealer(alice, "alice", "--tag", "alice")) {
            joined(ALICE);
            long aliceHandshakes = servedHandshakes(a, "reply tick alice");
            Session session = router.peer(ALICE).orElseThrow().session();
            try (ChildProcess intruder = curveDealer(mallory, "alice", "--tag", "intruder")) {
                joined(MALLORY);
                long intruderHandshakes = servedHandshakes(intruder, "reply tick intruder");
                awaitOrTell(() -> count(intruder, "reply tick intruder") >= 5);
                // Alice goes on being echoed while the intruder speaks.
                long aliceSoFar = count(a, "reply tick alice");
                awaitOrTell(() -> count(a, "reply tick alice") >= aliceSoFar + 5);
                int n = 20;
                for (int i = 0; i < n; i++) {
                    assertEquals(SendResult.QUEUED, router.send(ALICE, ("for-alice " + i).getBytes(StandardCharsets.UTF_8)));
                }
                awaitOrTell(() -> count(a, "reply for-alice ") >= n);
                long intruderSoFar = count(intruder, "reply tick intruder");
                awaitOrTell(() -> count(intruder, "reply tick intruder") >= intruderSoFar + 3);

                List<Message> fromIntruder = received.stream().filter(m -> text(m).startsWith("tick intruder"))
                        .collect(Collectors.toList());
                assertTrue(fromIntruder.size() >= 8, fromIntruder.toString());
                assertTrue(fromIntruder.stream().allMatch(m -> m.identity().equals(MALLORY)),
                        "the intruder's messages are mallory's, not alice's: " + fromIntruder);
                assertTrue(received.stream().filter(m -> m.identity().equals(ALICE)).allMatch(m -> text(m).startsWith("tick alice")),
                        "nothing under alice but alice's own: " + received);
                assertTrue(replies(intruder).stream().allMatch(l -> l.startsWith("reply tick intruder ")),
                        "the intruder received only its own echoes: " + replies(intruder));
                assertTrue(replies(a).stream().allMatch(l -> l.startsWith("reply tick alice ") || l.startsWith("reply for-alice ")),
                        "alice received only its own: " + replies(a));
                assertEquals(1, events.count(PeerEvent.Type.JOINED, MALLORY), events.of(MALLORY).toString());
                assertEquals(0, events.count(PeerEvent.Type.TOOK_OVER, MALLORY) + events.count(PeerEvent.Type.EVICTED, MALLORY),
                        events.of(MALLORY).toString());
                assertSameConnection(intruder, intruderHandshakes); // served, not shut
                assertAliceUndisturbed(a, session, aliceHandshakes);
            }
        }
    }

    @Test
    void aLibzmqClientWithoutCurveClaimingAliceIsNeverServed() throws Exception {
        try (ChildProcess plain = nullDealer("alice", "--tag", "plain")) {
            // libzmq, its ticks queued, retries while the router shuts it before it read the greeting (EPIPE), and gives up
            // for good on a handshake failure it is told about: stops early if it is served instead.
            awaitOrTell(() -> count(plain, "event HANDSHAKE_FAILED_PROTOCOL") + count(plain, "event HANDSHAKE_FAILED_AUTH") > 0
                    || count(plain, "ready") > 0 || router.stats().get("messagesReceived") > 0);
            assertEquals(0, count(plain, "ready"), "its handshake never succeeded: " + plain.lines());
            awaitOrTell(() -> router.connectionCount() == 0 && router.stats().get("closedBeforeFirstMessage") >= 1
                    && router.stats().get("closedBeforeFirstMessage") == router.stats().get("connectionsAccepted"));
            assertEquals(0, router.stats().get("messagesReceived"), "nothing of the NULL peer's was read");
            assertEquals(0, router.stats().get("keysAccepted"));
            assertTrue(received.isEmpty(), received.toString());
            assertTrue(router.peers().isEmpty(), router.peers().toString());
            assertEquals(0, events.count(PeerEvent.Type.JOINED, ALICE), events.events().toString());
            assertEquals(SendResult.UNKNOWN_PEER, router.send(ALICE, "to alice".getBytes(StandardCharsets.UTF_8)));
            assertEquals(List.of(), replies(plain), "it received nothing");
            assertEquals(count(plain, "event CONNECTED"), router.stats().get("connectionsAccepted"),
                    "every connection libzmq made was closed before a message was read: " + plain.lines());
            // The CURVE server turns it away in the greeting: ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH (0x11000002).
            assertTrue(plain.lines().contains("event HANDSHAKE_FAILED_PROTOCOL " + 0x11000002),
                    "refused in the greeting as a mechanism mismatch: " + plain.lines());
        }
    }
}
