package io.github.zmqliveness.cli;

import java.util.List;

/**
 * Walks a command's options, each {@code --name value}, {@code --name=value} or a bare
 * {@code --flag}. Hand-made on purpose: the tool takes no dependency for a handful of options.
 */
final class OptionReader {
    private final String command;
    private final List<String> args;
    private int next;
    private String name;
    private String inlineValue;

    OptionReader(String command, List<String> args) {
        this.command = command;
        this.args = args;
    }

    /** Moves to the next option; false when there are no more. */
    boolean advance() throws UsageException {
        if (next >= args.size()) {
            return false;
        }
        String token = args.get(next++);
        if (!token.startsWith("-") || token.equals("-") || token.equals("--")) {
            throw new UsageException(command + ": unexpected argument '" + token + "'");
        }
        int eq = token.indexOf('=');
        name = eq < 0 ? token : token.substring(0, eq);
        inlineValue = eq < 0 ? null : token.substring(eq + 1);
        return true;
    }

    /** The current option's name, dashes included ({@code --bind}). */
    String name() {
        return name;
    }

    /** The current option's value, from {@code --name=value} or the following argument. */
    String value() throws UsageException {
        if (inlineValue != null) {
            return inlineValue;
        }
        if (next >= args.size() || args.get(next).startsWith("--")) {
            throw new UsageException(command + ": option " + name + " needs a value");
        }
        return args.get(next++);
    }

    /** For a flag: refuses {@code --flag=value}. */
    void noValue() throws UsageException {
        if (inlineValue != null) {
            throw new UsageException(command + ": option " + name + " takes no value");
        }
    }

    UsageException unknown() {
        return new UsageException(command + ": unknown option " + name);
    }
}
