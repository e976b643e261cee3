package io.github.zmqliveness.cli;

import java.util.List;
import java.util.Map;

/** Builds one JSON object, fields in the order they are put. Not thread-safe; the writer takes the finished text. */
final class JsonObject {
    private final StringBuilder sb = new StringBuilder(128).append('{');
    private boolean empty = true;

    JsonObject put(String name, String value) {
        key(name).append(Json.quote(value));
        return this;
    }

    /** Puts the field only when {@code value} is not null. */
    JsonObject putIfPresent(String name, String value) {
        return value == null ? this : put(name, value);
    }

    JsonObject put(String name, long value) {
        key(name).append(value);
        return this;
    }

    JsonObject put(String name, boolean value) {
        key(name).append(value);
        return this;
    }

    JsonObject put(String name, List<String> values) {
        StringBuilder out = key(name).append('[');
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            Json.appendQuoted(out, values.get(i));
        }
        out.append(']');
        return this;
    }

    JsonObject put(String name, Map<String, Long> counters) {
        StringBuilder out = key(name).append('{');
        boolean first = true;
        for (Map.Entry<String, Long> e : counters.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            Json.appendQuoted(out, e.getKey());
            out.append(':').append(e.getValue());
        }
        out.append('}');
        return this;
    }

    /** Nests a finished object. */
    JsonObject put(String name, JsonObject value) {
        key(name).append(value);
        return this;
    }

    private StringBuilder key(String name) {
        if (!empty) {
            sb.append(',');
        }
        empty = false;
        Json.appendQuoted(sb, name);
        return sb.append(':');
    }

    @Override
    public String toString() {
        return sb.toString() + '}';
    }
}
