package io.github.zmqliveness;

import java.util.List;

/**
 * A message received from a peer: its identity, the frames it sent (the routing frame removed,
 * everything else exactly as sent, including any empty delimiter frame), and the address of the
 * connection it came on. Immutable, except that the frame arrays are shared, not copied: do not
 * modify them.
 */
public final class Message {
    private final Identity identity;
    private final List<byte[]> frames;
    private final String address;

    public Message(Identity identity, List<byte[]> frames, String address) {
        this.identity = identity;
        this.frames = List.copyOf(frames); // no copy when it already is an immutable list
        this.address = address;
    }

    public Identity identity() {
        return identity;
    }

    /** The frames after the routing id, at least one. */
    public List<byte[]> frames() {
        return frames;
    }

    /** Shorthand for the first frame. */
    public byte[] first() {
        return frames.get(0);
    }

    /** The peer's {@code ip:port}, or null if the transport did not say. */
    public String address() {
        return address;
    }

    public int size() {
        int n = 0;
        for (byte[] f : frames) {
            n += f.length;
        }
        return n;
    }

    @Override
    public String toString() {
        return "Message from " + identity + " (" + frames.size() + " frames, " + size() + " bytes)";
    }
}
