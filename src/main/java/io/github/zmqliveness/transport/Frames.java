package io.github.zmqliveness.transport;

import java.util.List;

/** Checks and sizes of user messages, shared by the router and the client. */
final class Frames {
    private Frames() {
    }

    /** The total size of a message the application hands to send; rejects what cannot be sent. */
    static long checkedSize(byte[][] frames) {
        if (frames == null || frames.length == 0) {
            throw new IllegalArgumentException("a message needs at least one frame");
        }
        long size = 0;
        for (byte[] f : frames) {
            if (f == null) {
                throw new IllegalArgumentException("frame is null; send an empty array for an empty frame");
            }
            size += f.length;
        }
        return size;
    }

    static long size(List<byte[]> frames) {
        long n = 0;
        for (byte[] f : frames) {
            n += f.length;
        }
        return n;
    }
}
