package io.github.zmqliveness.support;

import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.charset.StandardCharsets;

/**
 * A plain JeroMQ DEALER in a process of its own, so a test can kill it (SIGKILL) or freeze it
 * whole (SIGSTOP). Arguments: endpoint identity interval-ms. Sends "tick N" every interval, prints
 * "ready" after the first send and "reply ..." (the first 100 bytes) for what comes back.
 */
public final class DealerProcess {
    public static void main(String[] args) {
        String endpoint = args[0];
        String identity = args[1];
        long interval = Long.parseLong(args[2]);
        try (ZContext ctx = Dealers.context()) {
            ZMQ.Socket s = Dealers.connect(ctx, identity, endpoint);
            s.setReceiveTimeOut((int) interval);
            long n = 0;
            while (!Thread.currentThread().isInterrupted()) {
                s.send(("tick " + n++).getBytes(StandardCharsets.UTF_8), ZMQ.DONTWAIT);
                if (n == 1) {
                    System.out.println("ready");
                    System.out.flush();
                }
                byte[] reply = s.recv();
                if (reply != null) {
                    // at most 100 bytes of a reply: a test that sends large messages needs no megabytes of output
                    System.out.println("reply " + new String(reply, 0, Math.min(reply.length, 100), StandardCharsets.UTF_8));
                    System.out.flush();
                }
            }
        }
    }
}
