package io.github.zmqliveness.support;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Test facilities the machine may lack (libzmq through Debian's python3-zmq, root, network
 * namespaces). Locally a missing one skips the test with the reason; with
 * {@code ZMQ_LIVENESS_REQUIRE_FACILITIES=1} (set by .ci/run) it fails it, so CI cannot pass by skipping.
 */
public final class Facilities {
    public static final String PYTHON = "/usr/bin/python3";

    private Facilities() {
    }

    public static boolean required() {
        return "1".equals(System.getenv("ZMQ_LIVENESS_REQUIRE_FACILITIES"));
    }

    public static void require(boolean present, String what) {
        if (present) {
            return;
        }
        if (required()) {
            fail("required test facility missing: " + what + " (.ci/run installs it; ZMQ_LIVENESS_REQUIRE_FACILITIES=1 forbids skipping)");
        }
        Assumptions.assumeTrue(false, "skipped: " + what + " is not available on this machine");
    }

    public static void requirePyzmq() {
        require(run(PYTHON, "-c", "import zmq"), "Debian's python3-zmq (apt-get install python3-zmq) for a real libzmq DEALER");
    }

    public static void requireProcFs() {
        require(Net.available(), "Linux /proc/net/tcp and /proc/self/fd");
    }

    /**
     * Root, and network namespaces that work ({@code ip netns add} succeeds): what
     * {@link NetNs} needs to put a peer behind a veth link it can cut.
     */
    public static void requireRootNetns() {
        require(isRoot(), "root (uid 0), to create network namespaces and veth links");
        String probe = "zl-probe-" + ProcessHandle.current().pid();
        boolean works = run("ip", "netns", "add", probe);
        run("ip", "netns", "del", probe);
        require(works, "network namespaces: 'ip netns add' from iproute2 (apt-get install iproute2)");
    }

    /** The ss command of iproute2, which shows a listening socket's backlog. */
    public static void requireSs() {
        require(run("ss", "-V"), "ss from iproute2 (apt-get install iproute2) to read a listening socket's backlog");
    }

    /** The nft command of nftables, for drop rules inside a namespace. */
    public static void requireNftables() {
        require(run("nft", "--version"), "nftables (apt-get install nftables) for drop rules");
    }

    static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Paths.get("/proc/self"), "unix:uid"));
        } catch (Exception e) {
            return false;
        }
    }

    public static String java() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    static boolean run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
