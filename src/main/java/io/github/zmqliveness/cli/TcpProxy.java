package io.github.zmqliveness.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP forwarder that can freeze: both of its connections stay open, but not a byte moves either
 * way, exactly as a link that died without a FIN or RST (a sleeping laptop, a dropped Wi-Fi, a
 * stuck NAT). Used by the demo and the tests to make half-open connections on one machine.
 *
 * <p>Thread-safe. Listens on 127.0.0.1 on a free port; every client connection gets its own pair
 * of pump threads.
 */
public final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private volatile boolean frozen;
    private volatile boolean closed;

    /** Forwards connections made to {@link #endpoint()} to {@code targetHost:targetPort}. */
    public TcpProxy(String targetHost, int targetPort) throws IOException {
        this.target = new InetSocketAddress(targetHost, targetPort);
        this.server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept-" + port());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** For a ZeroMQ endpoint such as {@code tcp://127.0.0.1:5555}. */
    public static TcpProxy to(String zmqEndpoint) throws IOException {
        String hostPort = zmqEndpoint.substring(zmqEndpoint.indexOf("://") + 3);
        int colon = hostPort.lastIndexOf(':');
        return new TcpProxy(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The endpoint a DEALER connects to, {@code tcp://127.0.0.1:port}. */
    public String endpoint() {
        return "tcp://127.0.0.1:" + port();
    }

    /**
     * Stops forwarding in both directions; connections stay open. Data read meanwhile is held, not
     * lost, and so is the end of a connection: a side that closes while the link is frozen is seen
     * closing by the other side only after {@link #thaw()} (or {@link #close()}).
     */
    public void freeze() {
        frozen = true;
    }

    /** Resumes forwarding, held data first. */
    public void thaw() {
        synchronized (lock) {
            frozen = false;
            lock.notifyAll();
        }
    }

    public boolean isFrozen() {
        return frozen;
    }

    /** Connections open through the proxy (each counts its two sockets once). */
    public int connections() {
        return sockets.size() / 2;
    }

    /** Closes the listener and every connection (the peers see a FIN or RST). */
    @Override
    public void close() {
        closed = true;
        thaw();
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        sockets.clear();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            try {
                Socket upstream = new Socket();
                upstream.connect(target, 5000);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                closeQuietly(client);
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try {
                // Not try-with-resources: closing a socket's stream closes the socket, and a frozen link must not pass a close on.
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    awaitThaw();
                    int n = in.read(buf);
                    awaitThaw(); // what was read while frozen, the end of the stream included, waits for the thaw
                    if (n < 0) {
                        break;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // connection gone or proxy closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                // A link that dies while frozen says nothing of it (no FIN, no RST) until it thaws or the proxy closes.
                try {
                    awaitThaw();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                closeQuietly(from);
                closeQuietly(to);
                sockets.remove(from);
                sockets.remove(to);
            }
        }, "tcp-proxy-pump-" + port());
        t.setDaemon(true);
        t.start();
    }

    private void awaitThaw() throws InterruptedException {
        if (!frozen) {
            return;
        }
        synchronized (lock) {
            while (frozen && !closed) {
                lock.wait();
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
