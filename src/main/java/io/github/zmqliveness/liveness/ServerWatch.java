package io.github.zmqliveness.liveness;

/**
 * A client's view of its server's liveness: when it last heard the server, when it last sent a
 * heartbeat, and the rules (interval and liveness) the server imposed. Pure: time comes in as an
 * argument (monotonic nanoseconds). Not thread-safe: the client's loop drives it.
 */
public final class ServerWatch {
    private long intervalNanos;
    private int liveness;
    private long lastHeard;
    private long lastSent;
    /** Silence is not held against the server before this time (see {@link #stalled}). */
    private long heldUntil = Long.MIN_VALUE;

    public ServerWatch(long intervalNanos, int liveness) {
        rules(intervalNanos, liveness);
    }

    /** New rules, from the server's WELCOME. */
    public void rules(long intervalNanos, int liveness) {
        if (intervalNanos <= 0 || liveness < 1) {
            throw new IllegalArgumentException("interval must be positive and liveness at least 1");
        }
        this.intervalNanos = intervalNanos;
        this.liveness = liveness;
    }

    /** A new connection or session starts at {@code now}: nothing is overdue yet. */
    public void reset(long now) {
        lastHeard = now;
        lastSent = now;
    }

    /** Anything at all arrived from the server. */
    public void heard(long now) {
        lastHeard = now;
    }

    /** A heartbeat went out. */
    public void sent(long now) {
        lastSent = now;
    }

    /**
     * The client's own thread could not listen up to {@code now} (a GC pause, the process stopped): the server's
     * silence meanwhile is not its fault. It is not called silent before one interval from now, time enough to read
     * what it sent meanwhile; a server that really died is given up at the end of that interval.
     */
    public void stalled(long now) {
        heldUntil = Math.max(heldUntil, now + intervalNanos);
    }

    /** The server has been silent for interval x liveness, all of it while this client could listen: treat it as dead. */
    public boolean silent(long now) {
        return now >= heldUntil && now - lastHeard >= silenceLimitNanos();
    }

    /** One interval since the last heartbeat: time to send one. */
    public boolean heartbeatDue(long now) {
        return now - lastSent >= intervalNanos;
    }

    /** The next moment {@link #silent} or {@link #heartbeatDue} can change. */
    public long nextDeadline() {
        return Math.min(lastSent + intervalNanos, Math.max(heldUntil, lastHeard + silenceLimitNanos()));
    }

    public long intervalNanos() {
        return intervalNanos;
    }

    public long silenceLimitNanos() {
        return intervalNanos * liveness;
    }
}
