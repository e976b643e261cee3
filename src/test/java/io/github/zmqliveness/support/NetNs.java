package io.github.zmqliveness.support;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace joined to this host by veth links, each a /30 of its own in
 * {@code 10.200.B.0/24}: the host side is {@code 10.200.B.(4k+1)}, the namespace side
 * {@code 10.200.B.(4k+2)}. A process started through {@link #exec} lives behind the links, with a
 * real TCP stack of its own, so a test can cut a link under an established connection, as a
 * cable or a Wi-Fi network goes away, and put it back. Needs root ({@link Facilities#requireRootNetns()}).
 *
 * <p>Names carry this JVM's pid ({@code zl-<pid>-<n>}, veths {@code zl<pid>-<n><h|n><k>}), the
 * block B is one no host interface uses, taken under a file lock so concurrent test JVMs never
 * share one, and {@link #close()} removes everything even after a failure. Namespaces left by a
 * JVM that died are removed when the next one is created.
 */
public final class NetNs implements AutoCloseable {
    private static final long PID = ProcessHandle.current().pid();
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final String LOCK = "/tmp/zmq-liveness-netns.lock";

    /** One veth pair. */
    public static final class Link {
        public final String hostIf;
        public final String nsIf;
        /** The host's address on the link: bind the router here. */
        public final String hostAddress;
        /** The namespace's address on the link: its peers' connections come from here. */
        public final String nsAddress;

        Link(String hostIf, String nsIf, String hostAddress, String nsAddress) {
            this.hostIf = hostIf;
            this.nsIf = nsIf;
            this.hostAddress = hostAddress;
            this.nsAddress = nsAddress;
        }

        @Override
        public String toString() {
            return hostIf + " " + hostAddress + " <-> " + nsIf + " " + nsAddress;
        }
    }

    public final String name;
    private final List<Link> links = new ArrayList<>();
    private final String nftTable;

    private NetNs(String name) {
        this.name = name;
        this.nftTable = "zl_" + name.replace('-', '_');
    }

    /** A namespace with {@code linkCount} veth links to the host, up and addressed. */
    public static NetNs create(int linkCount) throws IOException {
        int n = SEQ.incrementAndGet();
        NetNs ns = new NetNs("zl-" + PID + "-" + n);
        try (RandomAccessFile f = new RandomAccessFile(LOCK, "rw"); FileLock ignored = f.getChannel().lock()) {
            removeStale();
            int block = freeBlock(n);
            run("ip", "netns", "add", ns.name);
            try {
                run("ip", "netns", "exec", ns.name, "ip", "link", "set", "lo", "up");
                for (int k = 0; k < linkCount; k++) {
                    String base = "zl" + PID + "-" + n;
                    Link l = new Link(base + "h" + k, base + "n" + k, "10.200." + block + "." + (4 * k + 1),
                            "10.200." + block + "." + (4 * k + 2));
                    run("ip", "link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf);
                    ns.links.add(l);
                    run("ip", "link", "set", l.nsIf, "netns", ns.name);
                    run("ip", "addr", "add", l.hostAddress + "/30", "dev", l.hostIf);
                    run("ip", "link", "set", l.hostIf, "up");
                    run("ip", "netns", "exec", ns.name, "ip", "addr", "add", l.nsAddress + "/30", "dev", l.nsIf);
                    run("ip", "netns", "exec", ns.name, "ip", "link", "set", l.nsIf, "up");
                }
            } catch (IOException | RuntimeException e) {
                ns.close();
                throw e;
            }
        }
        return ns;
    }

    public List<Link> links() {
        return Collections.unmodifiableList(links);
    }

    public Link link(int k) {
        return links.get(k);
    }

    /** {@code command}, run inside the namespace ({@code ip netns exec} replaces itself with it: same pid). */
    public List<String> exec(List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(command);
        return cmd;
    }

    /** Takes the host side of the link down: nothing crosses it, no FIN, no RST, both ends keep their sockets. */
    public void linkDown(Link l) throws IOException {
        run("ip", "link", "set", l.hostIf, "down");
    }

    public void linkUp(Link l) throws IOException {
        run("ip", "link", "set", l.hostIf, "up");
    }

    /**
     * Drops every packet into and out of the namespace on this link (nftables inside the namespace);
     * the interfaces stay up, so to the host the peer has simply gone silent.
     */
    public void blackhole(Link l) throws IOException {
        String chain = l.nsIf.replace('-', '_');
        nft("table inet " + nftTable + " {\n"
                + "  chain in_" + chain + " { type filter hook input priority -300; policy accept; iifname \"" + l.nsIf + "\" drop; }\n"
                + "  chain out_" + chain + " { type filter hook output priority -300; policy accept; oifname \"" + l.nsIf + "\" drop; }\n"
                + "}\n");
    }

    public void unblackhole(Link l) throws IOException {
        String chain = l.nsIf.replace('-', '_');
        nft("delete chain inet " + nftTable + " in_" + chain + "\ndelete chain inet " + nftTable + " out_" + chain + "\n");
    }

    /** Removes the links and the namespace; never throws, so it is safe in {@code @AfterEach}. */
    @Override
    public void close() {
        for (Link l : links) {
            quietly("ip", "link", "del", l.hostIf); // takes its namespace peer with it, at once
        }
        quietly("ip", "netns", "del", name);
    }

    @Override
    public String toString() {
        return name + " " + links;
    }

    // ------------------------------------------------------------------ helpers

    private void nft(String script) throws IOException {
        run(exec(List.of("nft", "-f", "-")), script);
    }

    /** A /24 block of 10.200.0.0/16 that no host interface has an address in. */
    private static int freeBlock(int n) throws IOException {
        String addrs = run("ip", "-o", "-4", "addr", "show");
        int start = (int) ((PID * 31 + n) % 250);
        for (int i = 0; i < 250; i++) {
            int b = 1 + (start + i) % 250;
            if (!addrs.contains(" 10.200." + b + ".")) {
                return b;
            }
        }
        throw new IOException("no free 10.200.x.0/24 block: every one is in use on this host");
    }

    /** Namespaces of JVMs that are gone (a killed test run) must not pile up. */
    private static void removeStale() throws IOException {
        for (String line : run("ip", "netns", "list").split("\n")) {
            String[] parts = line.trim().split("\\s+")[0].split("-");
            if (parts.length == 3 && parts[0].equals("zl") && parts[1].matches("\\d+")) {
                long pid = Long.parseLong(parts[1]);
                if (pid != PID && ProcessHandle.of(pid).isEmpty()) {
                    quietly("ip", "netns", "del", line.trim().split("\\s+")[0]);
                }
            }
        }
    }

    private static String run(String... cmd) throws IOException {
        return run(List.of(cmd), null);
    }

    private static String run(List<String> cmd, String stdin) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) {
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } else {
            p.getOutputStream().close();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no answer within 20 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + out.trim()
                    + (stdin != null ? "\n" + stdin : ""));
        }
        return out;
    }

    private static void quietly(String... cmd) {
        try {
            run(cmd);
        } catch (IOException e) {
            // already gone
        }
    }
}
