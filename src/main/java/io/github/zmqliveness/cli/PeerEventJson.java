package io.github.zmqliveness.cli;

import io.github.zmqliveness.PeerEvent;
import io.github.zmqliveness.Stall;

import java.util.Locale;

/** The JSON line the {@code router} command prints for a peer event. */
final class PeerEventJson {
    private PeerEventJson() {
    }

    static JsonObject of(PeerEvent event) {
        JsonObject json = new JsonObject()
                .put("event", snakeCase(event.type()))
                .put("identity", event.identity() == null ? null : event.identity().toString())
                .put("address", event.address());
        json.putIfPresent("previous_address", event.previousAddress());
        if (event.session() != null) {
            json.put("session", event.session().number());
            json.putIfPresent("instance", event.session().instanceId());
        }
        if (event.reason() != null) {
            json.put("reason", snakeCase(event.reason()));
        }
        if (event.refusal() != null) {
            json.put("reason", snakeCase(event.refusal()));
        }
        if (event.duringStall()) {
            json.put("during_stall", true);
        }
        return json.put("time", event.time().toString());
    }

    /** The line for a stall of the router itself. */
    static JsonObject of(Stall stall) {
        return new JsonObject().put("event", "stalled").put("duration_ms", stall.duration().toMillis())
                .put("peers_covered", (long) stall.peersCovered()).put("time", stall.time().toString());
    }

    /** {@code TOOK_OVER} becomes {@code took_over}. */
    static String snakeCase(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT);
    }
}
