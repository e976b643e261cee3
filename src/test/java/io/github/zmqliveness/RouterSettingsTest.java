package io.github.zmqliveness;

import io.github.zmqliveness.support.Facilities;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The socket-level settings reach the kernel and JeroMQ: the accept backlog and the I/O threads. */
class RouterSettingsTest {

    @Test
    void acceptBacklogIsTheListeningSocketsQueueAndDefaultsTo1024() throws Exception {
        Facilities.requireSs();
        try (LivenessRouter dflt = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
             LivenessRouter small = LivenessRouter.builder().bind("tcp://127.0.0.1:*").acceptBacklog(37).build()) {
            assertEquals(1024, listenBacklog(port(dflt)), "default backlog");
            assertEquals(37, listenBacklog(port(small)), "configured backlog");
        }
    }

    @Test
    void ioThreadsStartsThatManyJeroMqIoThreads() {
        long before = ioThreads();
        try (LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").ioThreads(3).build()) {
            assertEquals(before + 3, ioThreads(), "JeroMQ I/O threads started by ioThreads(3)");
        }
    }

    @Test
    void twoRoutersInOneJvmHaveThreadsOfTheirOwnName() {
        try (LivenessRouter a = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
             LivenessRouter b = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build()) {
            java.util.Set<String> loops = new java.util.HashSet<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("zmq-liveness-router-")) {
                    loops.add(t.getName());
                }
            }
            assertTrue(loops.size() >= 2, "one loop thread name per router: " + loops);
        }
    }

    @Test
    void awaitTerminationReturnsOnceAnotherThreadClosedTheRouter() throws Exception {
        LivenessRouter router = LivenessRouter.builder().bind("tcp://127.0.0.1:*").build();
        assertTrue(router.isRunning());
        assertFalse(router.awaitTermination(java.time.Duration.ofMillis(50)), "still running");
        Thread closer = new Thread(router::close);
        closer.start();
        assertTrue(router.awaitTermination(java.time.Duration.ofSeconds(20)));
        assertFalse(router.isRunning());
        closer.join(20_000);
    }

    @Test
    void nonPositiveSettingsAreRefusedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder().acceptBacklog(0));
        assertTrue(e.getMessage().contains("accept backlog"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LivenessRouter.builder().ioThreads(0));
        assertTrue(e.getMessage().contains("I/O threads"), e.getMessage());
    }

    private static long ioThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).filter(t -> t.getName().startsWith("iothread")).count();
    }

    private static int port(LivenessRouter router) {
        String ep = router.endpoints().get(0);
        return Integer.parseInt(ep.substring(ep.lastIndexOf(':') + 1));
    }

    /** The Send-Q column of {@code ss -ltn} for a listening socket is its backlog. */
    private static int listenBacklog(int port) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ss", "-Hltn", "sport = :" + port).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "ss did not finish");
        String[] cols = out.split("\\s+");
        assertTrue(cols.length >= 4 && "LISTEN".equals(cols[0]), "ss output for port " + port + ": '" + out + "'");
        return Integer.parseInt(cols[2]);
    }
}
