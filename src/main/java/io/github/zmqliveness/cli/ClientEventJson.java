package io.github.zmqliveness.cli;

import io.github.zmqliveness.ClientEvent;
import io.github.zmqliveness.Identity;
import io.github.zmqliveness.Message;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The JSON lines the {@code client} command prints: a client's events and the messages it receives. */
final class ClientEventJson {
    /** What the client command sends, and an echoing server sends back. */
    private static final Pattern SEQ = Pattern.compile("seq (\\d{1,18})");

    private ClientEventJson() {
    }

    /** The payload of the {@code n}th numbered message. */
    static byte[] seqPayload(long n) {
        return ("seq " + n).getBytes(StandardCharsets.UTF_8);
    }

    /** The number of a numbered message ({@code seq <n>} in a single frame), or -1 if it is not one. */
    static long seqOf(Message message) {
        if (message.frames().size() != 1) {
            return -1;
        }
        Matcher m = SEQ.matcher(new String(message.first(), StandardCharsets.UTF_8));
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    static JsonObject of(Identity identity, ClientEvent event) {
        JsonObject json = new JsonObject()
                .put("event", PeerEventJson.snakeCase(event.type()))
                .put("identity", identity.toString())
                .putIfPresent("endpoint", event.endpoint());
        ClientEvent.Type type = event.type();
        if (event.session() != 0 && (type == ClientEvent.Type.CONNECTED || type == ClientEvent.Type.REJOINED
                || type == ClientEvent.Type.DISCONNECTED)) {
            json.put("session", event.session());
        }
        if (type == ClientEvent.Type.REJOINED) {
            json.put("resumed", event.resumed());
        }
        if (event.cause() != null) {
            json.put("cause", PeerEventJson.snakeCase(event.cause()));
        }
        if (event.reason() != null) {
            json.put("reason", PeerEventJson.snakeCase(event.reason()));
        }
        if (event.retryAfter() != null) {
            json.put("retry_after_ms", event.retryAfter().toMillis());
        }
        return json.put("time", event.time().toString());
    }

    /**
     * A received message: {@code seq} when it is a numbered message come back (a single frame
     * {@code seq <n>}), otherwise its first frame as {@code text} (UTF-8, undecodable bytes
     * replaced), with {@code frames} when there are several.
     */
    static JsonObject ofMessage(Identity identity, Message message, Instant time) {
        JsonObject json = new JsonObject()
                .put("event", "message")
                .put("identity", identity.toString())
                .putIfPresent("endpoint", message.address());
        long seq = seqOf(message);
        if (seq >= 0) {
            json.put("seq", seq);
        } else {
            json.put("text", new String(message.first(), StandardCharsets.UTF_8));
            if (message.frames().size() > 1) {
                json.put("frames", message.frames().size());
            }
        }
        return json.put("time", time.toString());
    }
}
