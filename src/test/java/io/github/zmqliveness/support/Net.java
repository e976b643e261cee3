package io.github.zmqliveness.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/** What the kernel says about this process's connections and file descriptors (Linux /proc). */
public final class Net {
    private Net() {
    }

    /** One row of /proc/net/tcp or tcp6. */
    public static final class Tcp {
        public final int localPort;
        public final int remotePort;
        public final String state;
        public final long inode;

        Tcp(int localPort, int remotePort, String state, long inode) {
            this.localPort = localPort;
            this.remotePort = remotePort;
            this.state = state;
            this.inode = inode;
        }

        @Override
        public String toString() {
            return localPort + "->" + remotePort + " " + state + " inode " + inode;
        }
    }

    private static final String[] STATES = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};

    public static boolean available() {
        return Files.isReadable(Paths.get("/proc/net/tcp")) && Files.isDirectory(Paths.get("/proc/self/fd"));
    }

    /** Every TCP socket in this network namespace. */
    public static List<Tcp> tcp() {
        List<Tcp> out = new ArrayList<>();
        for (String f : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            try {
                List<String> lines = Files.readAllLines(Paths.get(f));
                for (String line : lines.subList(1, lines.size())) {
                    String[] c = line.trim().split("\\s+");
                    int local = Integer.parseInt(c[1].substring(c[1].indexOf(':') + 1), 16);
                    int remote = Integer.parseInt(c[2].substring(c[2].indexOf(':') + 1), 16);
                    int st = Integer.parseInt(c[3], 16);
                    out.add(new Tcp(local, remote, st < STATES.length ? STATES[st] : "?" + st, Long.parseLong(c[9])));
                }
            } catch (IOException e) {
                // tcp6 may be absent
            }
        }
        return out;
    }

    /** Router-side sockets of the connection between {@code localPort} and {@code remotePort}. */
    public static List<Tcp> between(int localPort, int remotePort) {
        List<Tcp> out = new ArrayList<>();
        for (Tcp t : tcp()) {
            if (t.localPort == localPort && t.remotePort == remotePort) {
                out.add(t);
            }
        }
        return out;
    }

    /** Inodes of the sockets this process holds a file descriptor for. */
    public static Set<Long> socketInodes() {
        Set<Long> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Paths.get("/proc/self/fd"))) {
            fds.forEach(p -> {
                try {
                    String target = Files.readSymbolicLink(p).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(Long.parseLong(target.substring(8, target.length() - 1)));
                    }
                } catch (IOException e) {
                    // closed while listing
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return inodes;
    }

    public static int openFds() {
        try (Stream<Path> fds = Files.list(Paths.get("/proc/self/fd"))) {
            return (int) fds.count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static int port(String endpointOrAddress) {
        return Integer.parseInt(endpointOrAddress.substring(endpointOrAddress.lastIndexOf(':') + 1));
    }
}
