package io.github.zmqliveness.support;

import java.util.ArrayList;
import java.util.List;

/** What a test opened, closed in reverse order after it (call {@link #close()} from an {@code @AfterEach}). */
public final class Closer implements AutoCloseable {
    private final List<AutoCloseable> kept = new ArrayList<>();

    /** Keeps {@code c} to be closed, and returns it. */
    public <T extends AutoCloseable> T keep(T c) {
        kept.add(c);
        return c;
    }

    @Override
    public void close() throws Exception {
        for (int i = kept.size() - 1; i >= 0; i--) {
            kept.get(i).close();
        }
        kept.clear();
    }
}
