package io.github.zmqliveness.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/** A peer in another process: started, watched line by line, signalled, always destroyed. */
public final class ChildProcess implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();

    private ChildProcess(Process process) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // process gone
            }
        }, "child-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    public static ChildProcess start(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        return new ChildProcess(pb.start());
    }

    /** A JeroMQ DEALER in a fresh JVM (see {@link DealerProcess}). */
    public static ChildProcess jeromqDealer(String endpoint, String identity, long intervalMs) throws IOException {
        return start(jeromqDealerCommand(endpoint, identity, intervalMs));
    }

    /** The command line of {@link #jeromqDealer}, to run elsewhere (for example inside a {@link NetNs}). */
    public static List<String> jeromqDealerCommand(String endpoint, String identity, long intervalMs) {
        return javaCommand("-Xmx64m", DealerProcess.class, List.of(endpoint, identity, Long.toString(intervalMs)));
    }

    /** A JVM running {@code main} of a test class with this JVM's class path. */
    public static List<String> javaCommand(String maxHeap, Class<?> main, List<String> args) {
        return javaCommand(List.of(maxHeap), main, args);
    }

    /** As {@link #javaCommand(String, Class, List)}, with any JVM options (heap, stack size, system properties). */
    public static List<String> javaCommand(List<String> jvmOptions, Class<?> main, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Facilities.java()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(args);
        return cmd;
    }

    /** A libzmq DEALER through Debian's python3-zmq (src/test/resources/dealer.py). */
    public static ChildProcess libzmqDealer(String endpoint, String identity, long intervalMs, String... extra) throws IOException {
        return start(libzmqDealerCommand(endpoint, identity, intervalMs, extra));
    }

    /** The command line of {@link #libzmqDealer}, to run elsewhere (for example inside a {@link NetNs}). */
    public static List<String> libzmqDealerCommand(String endpoint, String identity, long intervalMs, String... extra) {
        String script = ChildProcess.class.getResource("/dealer.py").getPath();
        List<String> cmd = new ArrayList<>(List.of(Facilities.PYTHON, "-u", script, endpoint, identity, Long.toString(intervalMs)));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    /** Waits for a line starting with {@code prefix} and returns the first such line. */
    public String awaitLine(String prefix, Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(10))
                .until(() -> lines.stream().anyMatch(l -> l.startsWith(prefix)) || !process.isAlive());
        return lines.stream().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("child exited before printing '" + prefix + "': " + lines));
    }

    /** Writes one line to the child's standard input. */
    public void tell(String line) throws IOException {
        OutputStream in = process.getOutputStream();
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    public List<String> lines() {
        return lines;
    }

    public long pid() {
        return process.pid();
    }

    public void signal(String sig) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
            throw new IllegalStateException("kill -" + sig + " " + process.pid() + " failed");
        }
    }

    /** SIGKILL: the kernel closes its sockets (the router sees a FIN or RST). */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            try {
                signal("CONT");
            } catch (Exception ignored) {
                // it may have just exited
            }
            kill();
        }
    }
}
