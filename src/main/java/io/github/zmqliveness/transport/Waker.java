package io.github.zmqliveness.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Wakes the loop out of its poll from another thread: a byte on a {@link Pipe} whose source the
 * loop polls beside the ROUTER socket. At most one byte is in flight, so a burst of sends costs one
 * system call, not one each.
 */
final class Waker implements AutoCloseable {
    private final Pipe pipe;
    private final AtomicBoolean pending = new AtomicBoolean();
    /**
     * True while the loop is about to poll or polling. A busy loop looks at its queues before it
     * polls again, so waking it then would only cost a system call. The loop sets this before it
     * checks its queues and a sender reads it after adding to one (both volatile), so a wake-up is
     * never lost between the check and the poll.
     */
    private volatile boolean sleeping;
    private final ByteBuffer one = ByteBuffer.allocate(1);
    private final ByteBuffer drain = ByteBuffer.allocate(64);

    Waker() {
        try {
            pipe = Pipe.open();
            pipe.source().configureBlocking(false);
            pipe.sink().configureBlocking(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the router's wake-up pipe", e);
        }
    }

    Pipe.SourceChannel source() {
        return pipe.source();
    }

    /** The loop is about to check its queues and poll (true), or is awake again (false). */
    void sleeping(boolean value) {
        sleeping = value;
    }

    void wake() {
        if (sleeping && pending.compareAndSet(false, true)) {
            synchronized (one) {
                one.clear();
                try {
                    pipe.sink().write(one);
                } catch (IOException e) {
                    // closed: the loop is gone and needs no waking
                }
            }
        }
    }

    /** Called by the loop after it woke: later wakes write again. */
    void drain() {
        pending.set(false);
        try {
            drain.clear();
            while (pipe.source().read(drain) > 0) {
                drain.clear();
            }
        } catch (IOException e) {
            // closed
        }
    }

    @Override
    public void close() {
        try {
            pipe.sink().close();
        } catch (IOException ignored) {
            // nothing to release
        }
        try {
            pipe.source().close();
        } catch (IOException ignored) {
            // nothing to release
        }
    }
}
