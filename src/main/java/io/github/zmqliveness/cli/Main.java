package io.github.zmqliveness.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** The {@code zmq-liveness} command-line tool: {@code router}, {@code demo}, {@code help}. */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    static final String USAGE = String.join("\n",
            "usage: java -jar zmq-liveness-cli.jar <command> [options]",
            "",
            "commands:",
            "  router   run a liveness router; prints each peer event as one JSON line on stdout",
            "           --bind ENDPOINT   endpoint to bind, such as tcp://127.0.0.1:5555 (repeatable, required)",
            "           --heartbeat DUR   heartbeat interval (default 1s); the ZMTP PING timeout is half of it",
            "           --liveness N      missed intervals before a heartbeating peer is evicted (default 3)",
            "           --echo            send every received message back to its sender",
            "           stops cleanly, exit code 0, on SIGTERM or SIGINT (Ctrl-C)",
            "  demo     scripted faults against simulated clients, with a live peer table; ~30 s;",
            "           exit code 0 if every fault was detected, 1 otherwise",
            "  help     this text",
            "",
            "durations: a number and a unit: 200ms, 1s, 1.5s, 2m",
            "exit codes: 0 ok, 1 failed, 2 bad command line");

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(Arrays.asList(args), System.out, System.err));
    }

    static int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            return usageError("no command given", err);
        }
        List<String> rest = args.subList(1, args.size());
        try {
            switch (args.get(0)) {
                case "router":
                    RouterOptions options = RouterOptions.parse(rest);
                    if (options.help) {
                        out.println(USAGE);
                        return EXIT_OK;
                    }
                    return new RouterCommand(options, new JsonLineWriter(out), err).run();
                case "demo":
                    if (DemoCommand.parseHelp(rest)) {
                        out.println(USAGE);
                        return EXIT_OK;
                    }
                    return new DemoCommand(out, err).run();
                case "help":
                case "-h":
                case "--help":
                    out.println(USAGE);
                    return EXIT_OK;
                default:
                    return usageError("unknown command '" + args.get(0) + "'", err);
            }
        } catch (UsageException e) {
            return usageError(e.getMessage(), err);
        }
    }

    private static int usageError(String message, PrintStream err) {
        err.println("error: " + message);
        err.println();
        err.println(USAGE);
        return EXIT_USAGE;
    }
}
