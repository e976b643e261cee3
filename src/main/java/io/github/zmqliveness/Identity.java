package io.github.zmqliveness;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A ZeroMQ routing identity: the bytes a DEALER announces as its {@code ZMQ_ROUTING_ID}.
 *
 * <p>Immutable and thread-safe; equal when the bytes are equal. {@link #of(String)} and
 * {@link #of(byte[])} validate what a client may choose: 1 to 255 bytes, not starting with
 * {@code 0x00} (ZeroMQ reserves those for identities it makes up for anonymous peers).
 * Identities received from the network may be such made-up ones; {@link #isGenerated()} tells.
 */
public final class Identity implements Comparable<Identity> {
    /** The longest identity ZMTP can carry. */
    public static final int MAX_LENGTH = 255;

    private final byte[] bytes;
    private final int hash;

    private Identity(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    /**
     * An identity from its UTF-8 text.
     *
     * @throws IllegalArgumentException if the text is empty, longer than 255 bytes in UTF-8, or
     *     starts with the reserved byte 0x00
     */
    public static Identity of(String text) {
        if (text == null) {
            throw new IllegalArgumentException("identity text is null: pass a non-empty name, such as the host name");
        }
        return of(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * An identity from its bytes (copied).
     *
     * @throws IllegalArgumentException if empty, longer than 255 bytes, or starting with 0x00
     */
    public static Identity of(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("identity is empty: ZeroMQ replaces empty routing ids with random ones, choose a name");
        }
        if (bytes.length > MAX_LENGTH) {
            throw new IllegalArgumentException("identity is " + bytes.length + " bytes; ZMTP allows at most " + MAX_LENGTH);
        }
        if (bytes[0] == 0) {
            throw new IllegalArgumentException("identity starts with 0x00, which ZeroMQ reserves for generated ids; choose another first byte");
        }
        return new Identity(bytes.clone());
    }

    /**
     * An identity as received from the wire, without the checks of {@link #of(byte[])}: ZeroMQ
     * hands out 0x00-prefixed ids for peers that set none. The array is not copied: the caller
     * must not change it afterwards.
     */
    public static Identity fromWire(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("empty routing id from the socket");
        }
        return new Identity(bytes);
    }

    /** A copy of the bytes. */
    public byte[] toBytes() {
        return bytes.clone();
    }

    /** The bytes, not copied: for the library's own use on its hot paths. Do not modify. */
    public byte[] unsafeBytes() {
        return bytes;
    }

    public int length() {
        return bytes.length;
    }

    /** True for the 0x00-prefixed ids ZeroMQ generates for peers that set no routing id. */
    public boolean isGenerated() {
        return bytes[0] == 0;
    }

    /** The text if the bytes are valid UTF-8 and printable, otherwise {@code hex:} and the bytes in hex. */
    @Override
    public String toString() {
        if (!isGenerated()) {
            try {
                String text = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes))
                        .toString();
                // Control and invisible formatting characters (U+202E, U+200B, ...) would make log lines lie.
                if (text.codePoints().noneMatch(cp -> Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT)) {
                    return text;
                }
            } catch (CharacterCodingException e) {
                // not text: fall through to hex
            }
        }
        StringBuilder sb = new StringBuilder(4 + bytes.length * 2).append("hex:");
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return this == o || (o instanceof Identity && hash == ((Identity) o).hash && Arrays.equals(bytes, ((Identity) o).bytes));
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(Identity other) {
        return Arrays.compareUnsigned(bytes, other.bytes);
    }
}
