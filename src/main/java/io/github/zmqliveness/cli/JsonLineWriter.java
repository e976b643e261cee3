package io.github.zmqliveness.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Writes JSON objects one per line (JSON Lines), in UTF-8 whatever the platform charset, and
 * flushes each line at once so a reader at the other end of a pipe sees it as it happens.
 * Thread-safe: lines from several threads never interleave.
 */
final class JsonLineWriter {
    private final OutputStream out;

    JsonLineWriter(OutputStream out) {
        this.out = out;
    }

    synchronized void write(JsonObject object) {
        try {
            out.write((object + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to standard output", e);
        }
    }
}
