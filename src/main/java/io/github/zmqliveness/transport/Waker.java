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

    void wake() {
        if (pending.compareAndSet(false, true)) {
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
