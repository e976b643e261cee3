package io.github.zmqliveness;

/** How a {@link DealerClient} with several endpoints chooses the next one. */
public enum Failover {
    /** Prefer the first endpoint: after a session ends start again from it; move on only when attempts fail. */
    IN_ORDER,
    /** Move on to the next endpoint after every session or failed attempt. */
    ROUND_ROBIN
}
