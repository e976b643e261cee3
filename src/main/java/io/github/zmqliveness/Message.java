package io.github.zmqliveness;

import java.util.List;

/**
 * A message received from a peer: its identity, the session that sent it, the frames it sent (the
 * routing frame removed, everything else exactly as sent, including any empty delimiter frame),
 * and the address of the connection it came on. Immutable, except that the frame arrays are
 * shared, not copied: do not modify them.
 *
 * <p>To answer the client life that sent it and nobody else, use
 * {@link LivenessRouter#reply(Message, byte[]...)}.
 */
public final class Message {
    private final Identity identity;
    private final Session session;
    private final List<byte[]> frames;
    private final String address;

    /** A message with no session (as a {@link DealerClient} receives them from its server, or in tests). */
    public Message(Identity identity, List<byte[]> frames, String address) {
        this(identity, null, frames, address);
    }

    /** A message from {@code session} (its identity is the session's). */
    public Message(Session session, List<byte[]> frames, String address) {
        this(session.identity(), session, frames, address);
    }

    private Message(Identity identity, Session session, List<byte[]> frames, String address) {
        this.identity = identity;
        this.session = session;
        this.frames = List.copyOf(frames); // no copy when it already is an immutable list
        this.address = address;
    }

    public Identity identity() {
        return identity;
    }

    /**
     * The session that sent it: on a router always set; it may have ended by the time the
     * application reads the message (then a {@link LivenessRouter#reply} returns
     * {@link SendResult#STALE_SESSION}). On a {@link DealerClient}, the client's own session
     * number with the server (its identity, and no instance).
     */
    public Session session() {
        return session;
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

    /** The bytes in all frames together; the number of frames is {@code frames().size()}. */
    public int size() {
        int n = 0;
        for (byte[] f : frames) {
            n += f.length;
        }
        return n;
    }

    @Override
    public String toString() {
        return "Message from " + (session != null ? session : identity) + " (" + frames.size() + " frames, " + size() + " bytes)";
    }
}
