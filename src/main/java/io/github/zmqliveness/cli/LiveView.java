package io.github.zmqliveness.cli;

import io.github.zmqliveness.ClientState;
import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.PeerSnapshot;
import io.github.zmqliveness.PeerState;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;

/**
 * The demo's screen: the router's peer table and the DealerClients' own view every tick, what the
 * script is doing, and the events of both sides.
 *
 * <p>On a terminal it redraws one screen in place with ANSI escapes, notes and events in a
 * "recent" list under the table. Otherwise (a pipe, a file, CI) it appends: each table under a
 * header with the elapsed time, each note and event on a line of its own as it happens.
 * Thread-safe: the ticker, the event thread and the script all write here.
 */
final class LiveView {
    private static final int RECENT_LINES = 14;
    private static final String HOME = "\033[H";
    private static final String CLEAR_SCREEN = "\033[2J";
    private static final String CLEAR_LINE_END = "\033[K";
    private static final String CLEAR_SCREEN_END = "\033[J";
    private static final String BOLD = "\033[1m";
    private static final String RESET = "\033[0m";
    private static final String ROW_FORMAT = "  %-12s %-4s %-12s %-22s %9s %10s %6s";
    private static final String CLIENT_ROW_FORMAT = "  %-12s %-12s %-10s %8s %11s %6s";

    /** What one tick shows; gathered by the caller so this class never talks to the router or the clients. */
    static final class Frame {
        final List<PeerSnapshot> peers;
        final int connections;
        final MessageTally tally;
        final List<ClientRow> clients;

        Frame(List<PeerSnapshot> peers, int connections, MessageTally tally, List<ClientRow> clients) {
            this.peers = peers;
            this.connections = connections;
            this.tally = tally;
            this.clients = clients;
        }
    }

    /** One DealerClient as it sees itself. */
    static final class ClientRow {
        final String name;
        final String identity;
        final ClientState state;
        final long session;
        final long reconnects;
        final long sent;

        ClientRow(String name, String identity, ClientState state, long session, long reconnects, long sent) {
            this.name = name;
            this.identity = identity;
            this.state = state;
            this.session = session;
            this.reconnects = reconnects;
            this.sent = sent;
        }
    }

    private final PrintStream out;
    private final boolean ansi;
    private final long startNanos;
    private final Deque<String> recent = new ArrayDeque<>();
    private String status = "";
    private boolean cleared;
    private boolean finished;

    LiveView(PrintStream out, boolean ansi, long startNanos) {
        this.out = out;
        this.ansi = ansi;
        this.startNanos = startNanos;
    }

    /** What the script is doing now. */
    synchronized void note(String text) {
        status = text;
        log(elapsed() + "  " + text);
    }

    /** A peer event of the router. */
    synchronized void event(PeerEvent e) {
        if (finished) {
            return; // closing: the goodbyes are not part of the story
        }
        StringBuilder sb = new StringBuilder(elapsed()).append("  router ")
                .append(String.format(Locale.ROOT, "%-13s %-10s %s", PeerEventJson.snakeCase(e.type()), e.identity(), e.address()));
        if (e.previousAddress() != null) {
            sb.append(" (was ").append(e.previousAddress()).append(')');
        }
        if (e.reason() != null) {
            sb.append(" reason=").append(PeerEventJson.snakeCase(e.reason()));
        }
        log(sb.toString());
    }

    /** An event of the DealerClient called {@code name}, as the client itself saw it. */
    synchronized void clientEvent(String name, ClientEvent e) {
        if (finished) {
            return;
        }
        StringBuilder sb = new StringBuilder(elapsed()).append("  client ")
                .append(String.format(Locale.ROOT, "%-13s %-10s %s", PeerEventJson.snakeCase(e.type()), name, e.endpoint()));
        if (e.session() != 0 && e.type() != ClientEvent.Type.TOLD_TO_LEAVE && e.type() != ClientEvent.Type.STOPPED) {
            sb.append(" session=").append(e.session());
        }
        if (e.type() == ClientEvent.Type.REJOINED) {
            sb.append(e.resumed() ? " resumed" : " fresh session");
        }
        if (e.cause() != null) {
            sb.append(" cause=").append(PeerEventJson.snakeCase(e.cause()));
        }
        if (e.reason() != null) {
            sb.append(" reason=").append(PeerEventJson.snakeCase(e.reason()));
        }
        if (e.retryAfter() != null) {
            sb.append(" retry_after=").append(Durations.format(e.retryAfter()));
        }
        log(sb.toString());
    }

    synchronized void draw(Frame frame) {
        if (finished) {
            return;
        }
        List<String> lines = new ArrayList<>();
        String header = "t=" + elapsed().trim() + "  peers " + frame.peers.size() + "  connections " + frame.connections;
        if (ansi) {
            lines.add(BOLD + "zmq-liveness demo" + RESET + "   " + header);
            lines.add(status);
            lines.add("");
        } else {
            lines.add("--- " + header + " ---");
        }
        lines.add(String.format(Locale.ROOT, ROW_FORMAT, "IDENTITY", "KIND", "STATE", "ADDRESS", "HEARD_MS", "TAKEOVERS", "MSGS"));
        Instant now = Instant.now();
        List<PeerSnapshot> peers = new ArrayList<>(frame.peers);
        peers.sort(Comparator.comparing(PeerSnapshot::identity));
        for (PeerSnapshot p : peers) {
            lines.add(row(p, now, frame.tally));
        }
        if (peers.isEmpty()) {
            lines.add("  (no peers)");
        }
        if (!frame.clients.isEmpty()) {
            lines.add(String.format(Locale.ROOT, CLIENT_ROW_FORMAT, "CLIENT", "IDENTITY", "ITS_STATE", "SESSION", "RECONNECTS", "SENT"));
            for (ClientRow c : frame.clients) {
                lines.add(String.format(Locale.ROOT, CLIENT_ROW_FORMAT, shorten(c.name, 12), shorten(c.identity, 12),
                        c.state == null ? "-" : c.state, c.session, c.reconnects, c.sent));
            }
        }
        if (ansi) {
            lines.add("");
            lines.add("recent:");
            lines.addAll(recent);
            redraw(lines);
        } else {
            lines.forEach(out::println);
            out.flush();
        }
    }

    /** No more frames or events: a tick still running must not draw over what comes next. */
    synchronized void finish() {
        finished = true;
    }

    /** Text after the last frame (the summary); on a terminal it goes below the screen, which stays. */
    synchronized void println(String line) {
        out.println(line);
        out.flush();
    }

    private String row(PeerSnapshot p, Instant now, MessageTally tally) {
        long heardMs = p.lastHeard() == null ? -1 : Math.max(0, Duration.between(p.lastHeard(), now).toMillis());
        String line = String.format(Locale.ROOT, ROW_FORMAT, shorten(p.identity().toString(), 12), p.heartbeating() ? "zlp" : "raw",
                p.state(),
                p.address() == null ? "-" : p.address(), heardMs < 0 ? "-" : Long.toString(heardMs), p.takeovers(),
                tally.count(p.identity()));
        return ansi && p.state() != PeerState.ALIVE ? colour(p.state()) + line + RESET : line;
    }

    private static String colour(PeerState state) {
        return state == PeerState.SUSPECT ? "\033[33m" : "\033[31m";
    }

    private void log(String line) {
        if (ansi) {
            recent.addLast(line);
            while (recent.size() > RECENT_LINES) {
                recent.removeFirst();
            }
        } else {
            out.println(line);
            out.flush();
        }
    }

    /** Home and overwrite rather than scroll, so log lines on stderr in between are wiped, not stacked. */
    private void redraw(List<String> lines) {
        StringBuilder sb = new StringBuilder();
        if (!cleared) {
            sb.append(CLEAR_SCREEN);
            cleared = true;
        }
        sb.append(HOME);
        for (String line : lines) {
            sb.append(line).append(CLEAR_LINE_END).append('\n');
        }
        sb.append(CLEAR_SCREEN_END);
        out.print(sb);
        out.flush();
    }

    private String elapsed() {
        return String.format(Locale.ROOT, "%7.3fs", (System.nanoTime() - startNanos) / 1e9);
    }

    private static String shorten(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 1) + "~";
    }
}
