package io.github.zmqliveness.protocol;

/** A frame carried the protocol signature but is not a valid command; the message says why. */
public final class MalformedCommandException extends Exception {
    public MalformedCommandException(String message) {
        super(message);
    }
}
