package io.github.zmqliveness.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One command of the liveness protocol (docs/PROTOCOL.md), and its codec. Pure: no I/O.
 *
 * <p>A command is the first frame of a message and starts with the 4-byte signature
 * {@code 0xFF 'Z' 'L' version} followed by one command byte and the command's fields, big-endian.
 * Immutable.
 */
public final class Command {
    /** The protocol version this code speaks. */
    public static final byte VERSION = 1;
    static final byte[] SIGNATURE = {(byte) 0xFF, 'Z', 'L', VERSION};
    static final int HEADER = SIGNATURE.length + 1;

    /** The commands, with their wire byte. */
    public enum Type {
        /** Client to server, first on every connection: instance id, epoch, flags. */
        HELLO('H'),
        /** Server to client, answer to HELLO: session, heartbeat interval, liveness, flags. */
        WELCOME('W'),
        /** Either way: I am alive. The server answers each client heartbeat with one. */
        HEARTBEAT('P'),
        /** Client to server: I am leaving, forget me. */
        BYE('B'),
        /** Server to client: go away, with a reason and when to come back. */
        DISCONNECT('X'),
        /**
         * Either way: the frames after this one are application data. From the server it carries the
         * session the data was meant for and precedes every application message; from a client it
         * carries nothing and is needed only when the data starts with the signature.
         */
        DATA('D');

        final byte code;

        Type(char code) {
            this.code = (byte) code;
        }

        static Type of(byte code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    /** Reason codes of {@link Type#DISCONNECT}. */
    public enum Reason {
        EVICTED(1, true), CONFLICT(2, false), SHUTTING_DOWN(3, true), TRY_LATER(4, true), PROTOCOL_ERROR(5, true);

        public final int code;
        /** Whether a client should try again (after the retry-after hint). */
        public final boolean retry;

        Reason(int code, boolean retry) {
            this.code = code;
            this.retry = retry;
        }

        static Reason of(int code) {
            for (Reason r : values()) {
                if (r.code == code) {
                    return r;
                }
            }
            return null;
        }
    }

    /** HELLO flag: the client asks to resume its previous session (messages parked for it). */
    public static final int FLAG_RESUME = 1;
    /** WELCOME flag: the session was resumed; messages parked for it follow. */
    public static final int FLAG_RESUMED = 1;

    private final Type type;
    private final byte[] instance;  // HELLO: 16 bytes
    private final long number;      // HELLO: epoch; WELCOME, DATA from the server: session
    private final int flags;        // HELLO, WELCOME
    private final int millis;       // WELCOME: interval; DISCONNECT: retry after
    private final int liveness;     // WELCOME
    private final Reason reason;    // DISCONNECT
    private final String text;      // DISCONNECT
    private byte[] identity;        // HELLO, optional: the identity the client asks to be served under (CURVE)

    private Command(Type type, byte[] instance, long number, int flags, int millis, int liveness, Reason reason, String text) {
        this.type = type;
        this.instance = instance;
        this.number = number;
        this.flags = flags;
        this.millis = millis;
        this.liveness = liveness;
        this.reason = reason;
        this.text = text;
    }

    public static Command hello(byte[] instance, long epoch, int flags) {
        if (instance.length != 16) {
            throw new IllegalArgumentException("instance id must be 16 bytes");
        }
        return new Command(Type.HELLO, instance.clone(), epoch, flags, 0, 0, null, null);
    }

    /**
     * HELLO naming the identity the client asks to be served under, for a server that binds identities to CURVE keys
     * and allows its key several (section 2 of PROTOCOL.md).
     */
    public static Command hello(byte[] instance, long epoch, int flags, byte[] identity) {
        Command c = hello(instance, epoch, flags);
        if (identity != null) {
            if (identity.length < 1 || identity.length > 255) {
                throw new IllegalArgumentException("identity must be 1 to 255 bytes");
            }
            c.identity = identity.clone();
        }
        return c;
    }

    /** HELLO: the identity the client asked for, or null if it named none. */
    public byte[] identity() {
        return identity == null ? null : identity.clone();
    }

    public static Command welcome(long session, int intervalMillis, int liveness, int flags) {
        return new Command(Type.WELCOME, null, session, flags, intervalMillis, liveness, null, null);
    }

    public static Command heartbeat() {
        return HEARTBEAT;
    }

    public static Command bye() {
        return BYE;
    }

    /**
     * The longest "retry after" either side acts on: 5 minutes. A server never sends more, and a client reads more
     * (or a value that does not fit a signed 32-bit number) as this.
     */
    public static final int MAX_RETRY_AFTER_MILLIS = 300_000;

    /** DISCONNECT; {@code retryAfterMillis} is clamped to [0, {@link #MAX_RETRY_AFTER_MILLIS}]. */
    public static Command disconnect(Reason reason, long retryAfterMillis, String text) {
        int retry = (int) Math.max(0, Math.min(MAX_RETRY_AFTER_MILLIS, retryAfterMillis));
        return new Command(Type.DISCONNECT, null, 0, 0, retry, 0, Objects.requireNonNull(reason), text == null ? "" : text);
    }

    private static final Command HEARTBEAT = new Command(Type.HEARTBEAT, null, 0, 0, 0, 0, null, null);
    private static final Command BYE = new Command(Type.BYE, null, 0, 0, 0, 0, null, null);
    private static final Command DATA = new Command(Type.DATA, null, 0, 0, 0, 0, null, null);
    private static final byte[] DATA_FRAME = DATA.encode();
    private static final byte[] HEARTBEAT_FRAME = HEARTBEAT.encode();

    /** Length of a server's DATA frame: header and session. */
    public static final int SESSION_DATA_LENGTH = HEADER + 8;

    /** A server's DATA command: the frames after it are application data meant for {@code session}. */
    public static Command data(long session) {
        return new Command(Type.DATA, null, session, 0, 0, 0, null, null);
    }

    /** The session a server's DATA frame names, or -1 if {@code frame} is not one (read without decoding). */
    public static long sessionOfData(byte[] frame) {
        if (frame.length != SESSION_DATA_LENGTH || !looksLikeCommand(frame) || frame[3] != VERSION || frame[4] != Type.DATA.code) {
            return -1;
        }
        return ByteBuffer.wrap(frame, HEADER, 8).getLong();
    }

    /** The frame that marks a client's escaped application data (shared, do not modify). */
    public static byte[] dataFrame() {
        return DATA_FRAME;
    }

    /** The encoded heartbeat frame (shared, do not modify). */
    public static byte[] heartbeatFrame() {
        return HEARTBEAT_FRAME;
    }

    public Type type() {
        return type;
    }

    /** HELLO: the 16-byte random id of the client process. */
    public byte[] instance() {
        return instance == null ? null : instance.clone();
    }

    /** HELLO: the client's epoch (how many times this instance has said HELLO). */
    public long epoch() {
        return number;
    }

    /** WELCOME: the session the server gave; DATA from the server: the session the data is meant for (0 from a client). */
    public long session() {
        return number;
    }

    public int flags() {
        return flags;
    }

    /** WELCOME: the heartbeat interval the server imposes, in milliseconds. */
    public int intervalMillis() {
        return millis;
    }

    /** DISCONNECT: how long the client should wait before reconnecting, in milliseconds, at most {@link #MAX_RETRY_AFTER_MILLIS}. */
    public int retryAfterMillis() {
        return millis < 0 || millis > MAX_RETRY_AFTER_MILLIS ? MAX_RETRY_AFTER_MILLIS : millis;
    }

    public int liveness() {
        return liveness;
    }

    public Reason reason() {
        return reason;
    }

    public String text() {
        return text;
    }

    /** True if {@code frame} starts with the protocol signature of any version (it is meant as a command). */
    public static boolean looksLikeCommand(byte[] frame) {
        return frame.length >= 3 && frame[0] == SIGNATURE[0] && frame[1] == SIGNATURE[1] && frame[2] == SIGNATURE[2];
    }

    /** True if {@code frame} is exactly a well-formed HELLO of this version (with or without an identity). */
    public static boolean isHello(byte[] frame) {
        return frame.length >= HEADER + 16 + 8 + 1 && frame.length <= HEADER + 16 + 8 + 1 + 255 && looksLikeCommand(frame)
                && frame[3] == VERSION && frame[4] == Type.HELLO.code;
    }

    public byte[] encode() {
        int body;
        switch (type) {
            case HELLO: body = 16 + 8 + 1 + (identity == null ? 0 : identity.length); break;
            case WELCOME: body = 8 + 4 + 1 + 1; break;
            case DISCONNECT: body = 1 + 4 + text.getBytes(StandardCharsets.UTF_8).length; break;
            case DATA: body = number != 0 ? 8 : 0; break;
            default: body = 0;
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + body);
        b.put(SIGNATURE).put(type.code);
        switch (type) {
            case HELLO:
                b.put(instance).putLong(number).put((byte) flags);
                if (identity != null) {
                    b.put(identity);
                }
                break;
            case WELCOME:
                b.putLong(number).putInt(millis).put((byte) liveness).put((byte) flags);
                break;
            case DISCONNECT:
                b.put((byte) reason.code).putInt(millis).put(text.getBytes(StandardCharsets.UTF_8));
                break;
            case DATA:
                if (number != 0) {
                    b.putLong(number);
                }
                break;
            default:
                break;
        }
        return b.array();
    }

    /**
     * Decodes a frame that {@link #looksLikeCommand} accepted.
     *
     * @throws MalformedCommandException with a message that says what is wrong
     */
    public static Command decode(byte[] frame) throws MalformedCommandException {
        if (!looksLikeCommand(frame)) {
            throw new MalformedCommandException("not a command: the frame lacks the 0xFF 'Z' 'L' signature");
        }
        if (frame.length < HEADER) {
            throw new MalformedCommandException("command frame of " + frame.length + " bytes is shorter than the 5-byte header");
        }
        if (frame[3] != VERSION) {
            throw new MalformedCommandException("protocol version " + (frame[3] & 0xFF) + " is not supported (this side speaks " + VERSION + ")");
        }
        Type type = Type.of(frame[4]);
        if (type == null) {
            throw new MalformedCommandException("unknown command byte 0x" + Integer.toHexString(frame[4] & 0xFF));
        }
        ByteBuffer b = ByteBuffer.wrap(frame, HEADER, frame.length - HEADER);
        try {
            switch (type) {
                case HELLO: {
                    int rest = frame.length - HEADER - (16 + 8 + 1);
                    if (rest < 0 || rest > 255) {
                        throw new MalformedCommandException("HELLO has " + (frame.length - HEADER) + " bytes after the header; "
                                + "expected 25, and at most 255 more naming an identity");
                    }
                    byte[] instance = new byte[16];
                    b.get(instance);
                    Command hello = new Command(type, instance, b.getLong(), b.get() & 0xFF, 0, 0, null, null);
                    if (rest > 0) {
                        hello.identity = new byte[rest];
                        b.get(hello.identity);
                    }
                    return hello;
                }
                case WELCOME:
                    expect(frame, type, 8 + 4 + 1 + 1);
                    return new Command(type, null, b.getLong(), 0, b.getInt(), b.get() & 0xFF, null, null)
                            .withFlags(b.get() & 0xFF);
                case DISCONNECT: {
                    if (frame.length < HEADER + 5) {
                        throw new MalformedCommandException("DISCONNECT needs at least 5 bytes after the header, got " + (frame.length - HEADER));
                    }
                    Reason reason = Reason.of(b.get() & 0xFF);
                    int retry = b.getInt();
                    String text = new String(frame, HEADER + 5, frame.length - HEADER - 5, StandardCharsets.UTF_8);
                    return new Command(type, null, 0, 0, retry, 0, reason == null ? Reason.TRY_LATER : reason, text);
                }
                case HEARTBEAT:
                    expect(frame, type, 0);
                    return HEARTBEAT;
                case BYE:
                    expect(frame, type, 0);
                    return BYE;
                case DATA:
                    if (frame.length == SESSION_DATA_LENGTH) {
                        return data(b.getLong());
                    }
                    expect(frame, type, 0);
                    return DATA;
                default:
                    throw new AssertionError(type);
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new MalformedCommandException(type + " is truncated");
        }
    }

    private Command withFlags(int f) {
        return new Command(type, instance, number, f, millis, liveness, reason, text);
    }

    private static void expect(byte[] frame, Type type, int body) throws MalformedCommandException {
        if (frame.length != HEADER + body) {
            throw new MalformedCommandException(type + " must have " + body + " bytes after the header, got " + (frame.length - HEADER));
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Command)) {
            return false;
        }
        Command c = (Command) o;
        return type == c.type && number == c.number && flags == c.flags && millis == c.millis && liveness == c.liveness
                && reason == c.reason && Objects.equals(text, c.text) && Arrays.equals(instance, c.instance);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, number, flags, millis, liveness, reason, text) * 31 + Arrays.hashCode(instance);
    }

    @Override
    public String toString() {
        return type.name();
    }
}
