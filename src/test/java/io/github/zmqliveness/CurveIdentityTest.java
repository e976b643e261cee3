package io.github.zmqliveness;

import io.github.zmqliveness.support.EventRecorder;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With CURVE an identity is something a client proves with its key: a connection is served under the identity its key
 * is authorized for, whatever routing id it claims, so an intruder never receives another client's messages (silent or
 * speaking) and does not disturb it; an unknown key is refused in the handshake; the same key moving is a takeover.
 */
class CurveIdentityTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);
    private static final Duration WAIT = Duration.ofSeconds(20);
    private final CurveKeyPair server = CurveKeyPair.generate();
    private final CurveKeyPair alice = CurveKeyPair.generate();
    private final CurveKeyPair mallory = CurveKeyPair.generate();

    private AuthorizedKeys keys() {
        return AuthorizedKeys.parse("# test keys\n" + alice.publicKey() + " alice\n" + mallory.publicKey() + " mallory  # another client\n");
    }

    private LivenessRouter.Builder router(EventRecorder events) {
        return LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .curve(server.secretKey(), keys()).listener(events);
    }

    /** A plain JeroMQ DEALER with CURVE keys {@code keys}, claiming routing id {@code claim}. */
    private ZMQ.Socket curveDealer(ZContext ctx, CurveKeyPair keys, String claim, String endpoint) {
        return curveDealer(ctx, keys, claim, endpoint, 100);
    }

    private ZMQ.Socket curveDealer(ZContext ctx, CurveKeyPair keys, String claim, String endpoint, int reconnectMillis) {
        ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
        s.setIdentity(claim.getBytes(StandardCharsets.UTF_8));
        s.setCurveServerKey(server.publicKeyBytes());
        s.setCurvePublicKey(keys.publicKeyBytes());
        s.setCurveSecretKey(keys.secretKeyBytes());
        s.setLinger(0);
        s.setHandshakeIvl(2000);
        s.setReceiveTimeOut(0);
        s.setReconnectIVL(reconnectMillis);
        s.connect(endpoint);
        return s;
    }

    /**
     * A DEALER that says {@code text} once, and the message as the router received it. JeroMQ now and then leaves a
     * fresh connection stuck in its handshake (with or without CURVE; shared/research): then a new socket is tried.
     */
    private Message say(LivenessRouter router, ZContext ctx, CurveKeyPair keys, String claim, String endpoint, int reconnectMillis,
            String text) {
        for (int attempt = 0; attempt < 5; attempt++) {
            ZMQ.Socket s = curveDealer(ctx, keys, claim, endpoint, reconnectMillis);
            s.send(text);
            long end = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < end) {
                Message m = router.receive(Duration.ofMillis(50));
                if (m != null) {
                    assertEquals(text, new String(m.first(), StandardCharsets.UTF_8));
                    return m;
                }
            }
            ctx.destroySocket(s);
        }
        throw new AssertionError("5 connections in a row did not deliver '" + text + "'");
    }

    private DealerClient client(String endpoint, String identity, CurveKeyPair keys) {
        return DealerClient.builder().identity(identity).connect(endpoint).heartbeat(INTERVAL, 3)
                .curve(server.publicKey(), keys.publicKey(), keys.secretKey()).build();
    }

    @Test
    void anIntruderClaimingAnotherClientsRoutingIdNeverReceivesItsMessagesSilentOrSpeaking() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity aliceId = Identity.of("alice");
        try (LivenessRouter router = router(events).build();
             DealerClient a = client(router.endpoints().get(0), "alice", alice);
             ZContext ctx = new ZContext()) {
            String endpoint = router.endpoints().get(0);
            await().atMost(WAIT).until(() -> a.state() == ClientState.READY);
            Session session = router.peer(aliceId).orElseThrow().session();

            // Two intruders with mallory's (authorized) key, both claiming "alice": one silent, one speaking.
            long accepted = router.stats().get("keysAccepted");
            ZMQ.Socket silent = curveDealer(ctx, mallory, "alice", endpoint);
            ZMQ.Socket speaking = curveDealer(ctx, mallory, "alice", endpoint);
            await().atMost(WAIT).until(() -> router.stats().get("keysAccepted") >= accepted + 2);
            speaking.send("from the intruder");
            Message m = await().atMost(WAIT).until(() -> router.receive(Duration.ofMillis(50)), java.util.Objects::nonNull);
            assertEquals(Identity.of("mallory"), m.identity(), "served under its key's identity, not the one it claimed");
            assertEquals("from the intruder", new String(m.first(), StandardCharsets.UTF_8));

            int n = 200;
            for (int i = 0; i < n; i++) {
                assertEquals(SendResult.QUEUED, router.send(aliceId, ("to-alice-" + i).getBytes(StandardCharsets.UTF_8)));
            }
            List<String> got = new ArrayList<>();
            await().atMost(WAIT).until(() -> {
                Message r;
                while ((r = a.receive(Duration.ofMillis(10))) != null) {
                    got.add(new String(r.first(), StandardCharsets.UTF_8));
                }
                return got.size() >= n;
            });
            for (int i = 0; i < n; i++) {
                assertEquals("to-alice-" + i, got.get(i), "alice gets every message, in order");
            }
            // Everything for alice was written and read by alice: nothing for it can still be on its way to anyone.
            assertNull(silent.recv(ZMQ.DONTWAIT), "the silent intruder received nothing");
            assertNull(speaking.recv(ZMQ.DONTWAIT), "the speaking intruder received nothing");
            assertEquals(session, router.peer(aliceId).orElseThrow().session(), "alice kept its session");
            assertEquals(0, events.count(PeerEvent.Type.TOOK_OVER, aliceId), "alice's connection was never taken: " + events.of(aliceId));
            assertEquals(0, a.counters().get("connectionLost"), "alice never lost its connection");
        }
    }

    @Test
    void aKeyWithSeveralIdentitiesServesTheOneADealerClientNamesAndRefusesOthers() throws Exception {
        EventRecorder events = new EventRecorder();
        CurveKeyPair shared = CurveKeyPair.generate();
        List<ClientEvent> carolEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .curve(server.secretKey(), AuthorizedKeys.parse(shared.publicKey() + " alice bob\n")).listener(events).build();
             DealerClient bob = client(router.endpoints().get(0), "bob", shared);
             DealerClient carol = DealerClient.builder().identity("carol").connect(router.endpoints().get(0)).heartbeat(INTERVAL, 3)
                     .curve(server.publicKey(), shared.publicKey(), shared.secretKey()).listener(carolEvents::add).build()) {
            await().atMost(WAIT).until(() -> bob.state() == ClientState.READY);
            assertTrue(router.peer(Identity.of("bob")).isPresent(), "served as the identity it named");
            assertTrue(router.peer(Identity.of("alice")).isEmpty());
            EventRecorder.Seen refused = events.await(e -> e.type() == PeerEvent.Type.REFUSED, 0, WAIT);
            assertEquals(RefusalReason.IDENTITY_NOT_AUTHORIZED, refused.event.refusal());
            assertEquals(Identity.of("carol"), refused.event.identity());
            await().atMost(WAIT).until(() -> carolEvents.stream().anyMatch(e -> e.type() == ClientEvent.Type.TOLD_TO_LEAVE
                    && e.reason() == ClientEvent.Reason.CONFLICT));
            assertTrue(router.peer(Identity.of("carol")).isEmpty());
            assertEquals(ClientState.READY, bob.state());
        }
    }

    @Test
    void anUnknownKeyIsRefusedInTheHandshakeWithAnEvent() {
        EventRecorder events = new EventRecorder();
        CurveKeyPair stranger = CurveKeyPair.generate();
        try (LivenessRouter router = router(events).build();
             ZContext ctx = new ZContext()) {
            ZMQ.Socket s = curveDealer(ctx, stranger, "alice", router.endpoints().get(0));
            s.send("let me in");
            EventRecorder.Seen refused = events.await(e -> e.type() == PeerEvent.Type.REFUSED, 0, WAIT);
            assertEquals(RefusalReason.UNKNOWN_KEY, refused.event.refusal());
            assertNull(refused.event.identity());
            assertTrue(refused.event.address().startsWith("127.0.0.1"), refused.event.toString());
            assertTrue(router.stats().get("refusedUnknownKey") >= 1);
            assertEquals(0, router.stats().get("messagesReceived"), "nothing of the stranger's was read");
            assertTrue(router.peers().isEmpty());
        }
    }

    @Test
    void aDealerClientWhoseKeyIsUnknownKeepsTryingAndCountsTheRefusal() {
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = router(events).build();
             DealerClient stranger = client(router.endpoints().get(0), "alice", CurveKeyPair.generate())) {
            await().atMost(WAIT).until(() -> stranger.counters().get("keyRefused") >= 2); // refused, and tried again
            assertTrue(router.stats().get("refusedUnknownKey") >= 2);
            assertTrue(router.peers().isEmpty());
            assertTrue(stranger.state() != ClientState.READY && stranger.state() != ClientState.STOPPED, stranger.state().toString());
        }
    }

    @Test
    void aPeerWithoutCurveCannotConnect() {
        EventRecorder events = new EventRecorder();
        try (LivenessRouter router = router(events).build();
             ZContext ctx = new ZContext()) {
            ZMQ.Socket s = ctx.createSocket(SocketType.DEALER);
            s.setIdentity("alice".getBytes(StandardCharsets.UTF_8));
            s.setLinger(0);
            s.connect(router.endpoints().get(0));
            s.send("plain");
            await().atMost(WAIT).until(() -> router.stats().get("closedBeforeFirstMessage") >= 1);
            assertEquals(0, router.stats().get("messagesReceived"));
        }
    }

    @Test
    void theSameKeyOnANewConnectionIsTheClientMoving() throws Exception {
        EventRecorder events = new EventRecorder();
        Identity aliceId = Identity.of("alice");
        try (LivenessRouter router = router(events).build();
             ZContext ctx = new ZContext()) {
            String endpoint = router.endpoints().get(0);
            // The old path is dead: once shut, it does not come back within the test.
            Message one = say(router, ctx, alice, "whatever", endpoint, 600_000, "one");
            assertEquals(aliceId, one.identity());
            int connections = router.connectionCount();
            long start = System.nanoTime();
            ZMQ.Socket second = curveDealer(ctx, alice, "alice", endpoint);
            second.send("two");
            assertEquals("two", new String(await().atMost(WAIT).until(() -> router.receive(Duration.ofMillis(50)),
                    java.util.Objects::nonNull).first(), StandardCharsets.UTF_8));
            events.awaitType(PeerEvent.Type.TOOK_OVER, aliceId, start, WAIT);
            await().atMost(WAIT).until(() -> router.connectionCount() == connections); // the old one was shut
            router.send(aliceId, "to the new one".getBytes(StandardCharsets.UTF_8));
            ZMQ.Poller poller = ctx.createPoller(1);
            poller.register(second, ZMQ.Poller.POLLIN);
            poller.poll(10_000);
            assertEquals("to the new one", second.recvStr(ZMQ.DONTWAIT));
        }
    }

    @Test
    void aKeyRemovedFromTheFileIsTurnedAwayWhileConnected(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, alice.publicKey() + " alice\n" + mallory.publicKey() + " mallory\n");
        EventRecorder events = new EventRecorder();
        Identity aliceId = Identity.of("alice");
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").heartbeatInterval(INTERVAL).liveness(3)
                .curve(server.secretKey(), AuthorizedKeys.load(file, Duration.ZERO)).listener(events).build();
             DealerClient a = client(router.endpoints().get(0), "alice", alice);
             DealerClient m = client(router.endpoints().get(0), "mallory", mallory)) {
            await().atMost(WAIT).until(() -> a.state() == ClientState.READY && m.state() == ClientState.READY);
            long start = System.nanoTime();
            Files.writeString(file, "# alice revoked\n" + mallory.publicKey() + " mallory\n");
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
            EventRecorder.Seen refused = events.await(e -> e.type() == PeerEvent.Type.REFUSED, start, WAIT);
            assertEquals(RefusalReason.IDENTITY_NOT_AUTHORIZED, refused.event.refusal());
            assertEquals(aliceId, refused.event.identity());
            events.awaitEvicted(aliceId, start, WAIT);
            await().atMost(WAIT).until(() -> router.stats().get("refusedUnknownKey") >= 1); // and it cannot come back
            assertTrue(router.peer(aliceId).isEmpty());
            assertEquals(ClientState.READY, m.state(), "the other client is untouched");
            assertEquals(0, events.count(PeerEvent.Type.EVICTED, Identity.of("mallory")));
        }
    }

    @Test
    void authorizedKeysParseReloadAndSayWhatIsWrong(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, alice.publicKey() + " alice hex:626f62\n");
        AuthorizedKeys k = AuthorizedKeys.load(file, Duration.ZERO);
        assertEquals(List.of(Identity.of("alice"), Identity.of("bob")), k.identities(alice.publicKeyBytes()));
        assertTrue(k.identities(mallory.publicKeyBytes()).isEmpty());
        Files.writeString(file, "# alice revoked\n" + mallory.publicKey() + " mallory\n");
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        assertTrue(k.identities(alice.publicKeyBytes()).isEmpty(), "reloaded on change");
        assertEquals(List.of(Identity.of("mallory")), k.identities(mallory.publicKeyBytes()));
        Files.writeString(file, "not-a-key alice\n");
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
        assertEquals(List.of(Identity.of("mallory")), k.identities(mallory.publicKeyBytes()), "a broken file keeps the keys read before");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, k::reload);
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("40 Z85 characters"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> AuthorizedKeys.parse("\n" + alice.publicKey() + "\n"));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void keyPairsRoundTripAndThePublicKeyFollowsFromTheSecret() {
        CurveKeyPair p = CurveKeyPair.generate();
        assertEquals(40, p.publicKey().length());
        assertEquals(p, CurveKeyPair.fromSecret(p.secretKey()));
        assertEquals(p.publicKey(), CurveKeyPair.encode(CurveKeyPair.decode(p.publicKey(), "k")));
        assertTrue(!p.toString().contains(p.secretKey()), "toString keeps the secret out of logs");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> CurveKeyPair.decode("short", "k"));
    }
}
