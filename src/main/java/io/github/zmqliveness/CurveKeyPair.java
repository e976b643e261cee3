package io.github.zmqliveness;

import com.neilalexander.jnacl.crypto.curve25519;
import zmq.io.mechanism.curve.Curve;
import zmq.util.Z85;

import java.util.Arrays;
import java.util.Objects;

/**
 * A CurveZMQ key pair (Curve25519): a public key to hand out and a secret key to keep. Keys travel as Z85 text (40
 * characters, as ZeroMQ prints them) or as 32 bytes. The router is given its secret key
 * ({@link LivenessRouter.Builder#curve(String, KeyAuthorizer)}); clients are given the router's public key and a pair of
 * their own ({@link DealerClient.Builder#curve(String, String, String)}).
 *
 * <p>Immutable and thread-safe. {@link #toString()} shows the public key only.
 */
public final class CurveKeyPair {
    /** Length of a key in bytes. */
    public static final int KEY_BYTES = 32;
    /** Length of a key as Z85 text. */
    public static final int KEY_Z85_CHARS = 40;

    private final byte[] publicKey;
    private final byte[] secretKey;

    private CurveKeyPair(byte[] publicKey, byte[] secretKey) {
        this.publicKey = publicKey;
        this.secretKey = secretKey;
    }

    /** A new random key pair (from the JVM's secure random source, through JeroMQ's CurveZMQ). */
    public static CurveKeyPair generate() {
        byte[][] pair = new Curve().keypair();
        return new CurveKeyPair(pair[0], pair[1]);
    }

    /**
     * The key pair of a secret key: its public key is computed from it.
     *
     * @param secretKey 40 Z85 characters
     * @throws IllegalArgumentException if it is not a key
     */
    public static CurveKeyPair fromSecret(String secretKey) {
        return fromSecret(decode(secretKey, "secret key"));
    }

    /** As {@link #fromSecret(String)}, from 32 bytes. */
    public static CurveKeyPair fromSecret(byte[] secretKey) {
        byte[] secret = checkLength(secretKey, "secret key").clone();
        byte[] pub = new byte[KEY_BYTES];
        curve25519.crypto_scalarmult_base(pub, secret);
        return new CurveKeyPair(pub, secret);
    }

    /** The public key as Z85 text. */
    public String publicKey() {
        return encode(publicKey);
    }

    /** The secret key as Z85 text. Keep it out of logs. */
    public String secretKey() {
        return encode(secretKey);
    }

    /** The public key's 32 bytes (a copy). */
    public byte[] publicKeyBytes() {
        return publicKey.clone();
    }

    /** The secret key's 32 bytes (a copy). */
    public byte[] secretKeyBytes() {
        return secretKey.clone();
    }

    /**
     * A key given as Z85 text, as 32 bytes.
     *
     * @param what what the key is, for the error message
     * @throws IllegalArgumentException if the text is not 40 Z85 characters
     */
    public static byte[] decode(String key, String what) {
        Objects.requireNonNull(key, what);
        String text = key.trim();
        if (text.length() != KEY_Z85_CHARS) {
            throw new IllegalArgumentException(what + " must be " + KEY_Z85_CHARS + " Z85 characters (as `keygen` prints it), not "
                    + text.length() + " characters");
        }
        byte[] bytes;
        try {
            bytes = Z85.decode(text);
        } catch (RuntimeException e) {
            bytes = null;
        }
        if (bytes == null || bytes.length != KEY_BYTES || !encode(bytes).equals(text)) {
            throw new IllegalArgumentException(what + " is not valid Z85 text (characters 0-9 a-z A-Z and .-:+=^!/*?&<>()[]{}@%$#)");
        }
        return bytes;
    }

    /** A 32-byte key as Z85 text. */
    public static String encode(byte[] key) {
        return Z85.encode(checkLength(key, "key"), KEY_BYTES);
    }

    static byte[] checkLength(byte[] key, String what) {
        Objects.requireNonNull(key, what);
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException(what + " must be " + KEY_BYTES + " bytes, not " + key.length);
        }
        return key;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CurveKeyPair && Arrays.equals(publicKey, ((CurveKeyPair) o).publicKey)
                && Arrays.equals(secretKey, ((CurveKeyPair) o).secretKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(publicKey);
    }

    @Override
    public String toString() {
        return "CurveKeyPair[public " + publicKey() + "]";
    }
}
