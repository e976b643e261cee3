package io.github.zmqliveness.cli;

import io.github.zmqliveness.CurveKeyPair;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** The {@code zmq-liveness} command-line tool: {@code router}, {@code client}, {@code demo}, {@code keygen}, {@code help}. */
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
            "           --curve-secret KEY      CurveZMQ: this router's secret key (Z85, as keygen prints it); with",
            "           --authorized-keys FILE  the client keys allowed, one a line: <Z85 public key> <identity> ...",
            "                                   ('#' starts a comment; identities as text or hex:...). Reloaded when it",
            "                                   changes. Each client is served under its key's first identity, whatever",
            "                                   routing id it claims; other keys are refused ('refused' events).",
            "           stops cleanly, exit code 0, on SIGTERM or SIGINT (Ctrl-C)",
            "  client   run DealerClients that each send 'seq <n>' every interval; prints their events",
            "           (connected, rejoined, disconnected, told_to_leave, stopped) and every message they",
            "           receive (message, with seq when a numbered message comes back) as JSON lines on stdout",
            "           --connect ENDPOINT  server endpoint, such as tcp://127.0.0.1:5555 (repeatable: failover",
            "                               in order; required)",
            "           --identity NAME     routing id (required); with --count N > 1, NAME-0 .. NAME-(N-1)",
            "           --count N           clients in this process (default 1, at most " + ClientOptions.MAX_COUNT + ")",
            "           --interval DUR      time between numbered messages (default 1s)",
            "           --heartbeat DUR     heartbeat interval until the server's WELCOME says otherwise (default 1s)",
            "           --liveness N        silent intervals before the server is given up (default 3)",
            "           --no-resume         after a disconnect start a clean session: drop what was queued meanwhile",
            "           --stop-on-conflict  stop for good when the server says the identity is in use by another client",
            "                               (default: wait the retry-after it gives and try again)",
            "           --curve-server-key KEY --curve-public KEY --curve-secret KEY",
            "                               CurveZMQ: the router's public key and this client's key pair (Z85)",
            "           stops cleanly on SIGTERM or SIGINT with an 'exited' line of counters, exit code 0;",
            "           exit code 1 if every client stopped for --stop-on-conflict",
            "  demo     scripted faults against plain DEALERs and DealerClients in one process, with a live",
            "           peer table; ~30 s;",
            "           exit code 0 if every fault was detected, 1 otherwise",
            "  keygen   print a new CurveZMQ key pair as one JSON line: {\"public\":\"...\",\"secret\":\"...\"}",
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
                case "client":
                    ClientOptions clientOptions = ClientOptions.parse(rest);
                    if (clientOptions.help) {
                        out.println(USAGE);
                        return EXIT_OK;
                    }
                    return new ClientCommand(clientOptions, new JsonLineWriter(out), err).run();
                case "demo":
                    if (DemoCommand.parseHelp(rest)) {
                        out.println(USAGE);
                        return EXIT_OK;
                    }
                    return new DemoCommand(out, err).run();
                case "keygen":
                    if (!rest.isEmpty()) {
                        return usageError("keygen takes no options", err);
                    }
                    CurveKeyPair pair = CurveKeyPair.generate();
                    out.println(new JsonObject().put("public", pair.publicKey()).put("secret", pair.secretKey()));
                    return EXIT_OK;
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
