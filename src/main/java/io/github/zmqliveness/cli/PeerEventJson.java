package io.github.zmqliveness.cli;

import io.github.zmqliveness.PeerEvent;

import java.util.Locale;

/** The JSON line the {@code router} command prints for a peer event. */
final class PeerEventJson {
    private PeerEventJson() {
    }

    static JsonObject of(PeerEvent event) {
        JsonObject json = new JsonObject()
                .put("event", snakeCase(event.type()))
                .put("identity", event.identity().toString())
                .put("address", event.address());
        json.putIfPresent("previous_address", event.previousAddress());
        if (event.reason() != null) {
            json.put("reason", snakeCase(event.reason()));
        }
        return json.put("time", event.time().toString());
    }

    /** {@code TOOK_OVER} becomes {@code took_over}. */
    static String snakeCase(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT);
    }
}
