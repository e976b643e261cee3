package io.github.zmqliveness;

import io.github.zmqliveness.cli.TcpProxy;
import io.github.zmqliveness.support.Closer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A DealerClient in plain mode against a raw JeroMQ ROUTER, which knows nothing of this library: it gets past
 * CONNECTING, the server sees only the application's frames under the client's identity, and the client finds a dead
 * or frozen server through ZMTP heartbeats and comes back with the same identity.
 */
class PlainClientTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);
    private final Closer closer = new Closer();

    @AfterEach
    void stop() throws Exception {
        closer.close();
    }

    /** A raw ROUTER on its own thread that echoes every message and records [identity, frames...] as text. */
    static final class RawEcho implements AutoCloseable {
        final ZContext ctx = new ZContext(1);
        final List<String> seen = new CopyOnWriteArrayList<>();
        final Thread thread;
        final int port;
        volatile boolean running = true;

        RawEcho(int port) {
            ZMQ.Socket router = ctx.createSocket(SocketType.ROUTER);
            router.setLinger(0);
            router.setRouterMandatory(true);
            router.setReceiveTimeOut(50);
            if (port == 0) {
                this.port = router.bindToRandomPort("tcp://127.0.0.1");
            } else {
                router.bind("tcp://127.0.0.1:" + port);
                this.port = port;
            }
            thread = new Thread(() -> {
                while (running) {
                    ZMsg m = ZMsg.recvMsg(router);
                    if (m == null) {
                        continue;
                    }
                    StringBuilder sb = new StringBuilder();
                    m.forEach(f -> sb.append(sb.length() == 0 ? "" : "|").append(f.getString(StandardCharsets.UTF_8)));
                    seen.add(sb.toString());
                    m.send(router);
                }
            }, "raw-echo");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5_000);
            ctx.close();
        }
    }

    private static String text(Message m) {
        return new String(m.first(), StandardCharsets.UTF_8);
    }

    @Test
    void aPlainClientWorksAgainstARawRouterAndComesBackWhenItRestarts() throws Exception {
        RawEcho server = new RawEcho(0);
        DealerClient client = closer.keep(DealerClient.builder().identity("plain-1").plain()
                .connect("tcp://127.0.0.1:" + server.port).heartbeat(INTERVAL, 3)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500), 2).build());
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> client.state() == ClientState.READY);
            assertEquals(SendResult.QUEUED, client.send("one".getBytes(StandardCharsets.UTF_8), "two".getBytes(StandardCharsets.UTF_8)));
            Message echo = client.receive(Duration.ofSeconds(20));
            assertNotNull(echo, "the raw router's echo");
            assertEquals(List.of("one", "two"), echo.frames().stream().map(b -> new String(b, StandardCharsets.UTF_8)).collect(java.util.stream.Collectors.toList()));
            // The server saw the application's frames under the client's identity, and nothing else: no command.
            assertEquals(List.of("plain-1|one|two"), server.seen);
        } finally {
            server.close();
        }
        // The server goes away and comes back on the same port: the client notices, reconnects, same identity.
        await().atMost(Duration.ofSeconds(20)).until(() -> client.state() != ClientState.READY);
        RawEcho again = new RawEcho(server.port);
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> client.state() == ClientState.READY);
            client.send("three".getBytes(StandardCharsets.UTF_8));
            Message m = client.receive(Duration.ofSeconds(20));
            assertNotNull(m);
            assertEquals("three", text(m));
            assertEquals(List.of("plain-1|three"), again.seen);
            assertTrue(client.counters().get("sessions") >= 2, "a session per connection: " + client.counters());
        } finally {
            again.close();
        }
    }

    @Test
    void aFrozenServerIsFoundByZmtpHeartbeatsAndLeft() throws Exception {
        RawEcho server = new RawEcho(0);
        TcpProxy proxy = closer.keep(TcpProxy.to("tcp://127.0.0.1:" + server.port));
        DealerClient client = closer.keep(DealerClient.builder().identity("plain-2").plain().connect(proxy.endpoint())
                .heartbeat(INTERVAL, 3).backoff(Duration.ofMillis(50), Duration.ofMillis(500), 2).build());
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> client.state() == ClientState.READY);
            proxy.freeze(); // both TCP connections stay open; nothing is forwarded, PONGs included
            await().atMost(Duration.ofSeconds(20)).until(() -> client.counters().get("connectionLost") >= 1);
            proxy.thaw();
            await().atMost(Duration.ofSeconds(20)).until(() -> client.state() == ClientState.READY);
            client.send("after".getBytes(StandardCharsets.UTF_8));
            Message m = client.receive(Duration.ofSeconds(20));
            assertNotNull(m, "an echo on the new connection; counters " + client.counters());
            assertEquals("after", text(m));
            assertTrue(server.seen.contains("plain-2|after"), server.seen.toString());
        } finally {
            server.close();
        }
    }
}
