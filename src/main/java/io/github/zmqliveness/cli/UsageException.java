package io.github.zmqliveness.cli;

/** The command line was wrong: the message says how, and the tool prints its usage and exits with 2. */
final class UsageException extends Exception {
    UsageException(String message) {
        super(message);
    }
}
