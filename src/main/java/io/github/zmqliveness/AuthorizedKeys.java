package io.github.zmqliveness;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The client keys a router accepts and the identities each may use, read from a file: one client a line,
 * <pre>
 * # comment
 * &lt;Z85 public key&gt; &lt;identity&gt; [&lt;identity&gt; ...]
 * </pre>
 * identities as UTF-8 text, or {@code hex:} and their bytes in hex. A connection is served under its key's first
 * identity, or under another one listed for the key that a {@link DealerClient} names (see {@link KeyAuthorizer}). A comment starts at a field that begins with {@code #} ({@code #} is also a Z85 character: a key that
 * begins with it is still a key); an identity that begins with {@code #} is written in hex.
 *
 * <p>Reloading: the file is read again when its modification time or size has changed, checked at most once per
 * {@code checkEvery} (1 s by default) when a key is looked up, or at once by {@link #reload()}. A key removed from the
 * file is refused from then on; a {@link LivenessRouter} also turns away connections already served under it (checked
 * about once a second). A file that no longer parses keeps the keys last read, and the error is logged.
 *
 * <p>Thread-safe.
 */
public final class AuthorizedKeys implements KeyAuthorizer {
    private static final Logger log = LoggerFactory.getLogger(AuthorizedKeys.class);

    private final Path file;
    private final long checkEveryNanos;
    private volatile Map<String, List<Identity>> keys;
    private volatile long generation;
    private FileTime readModified;
    private long readSize;
    private long checkedAt;

    private AuthorizedKeys(Path file, long checkEveryNanos) {
        this.file = file;
        this.checkEveryNanos = checkEveryNanos;
    }

    /**
     * Reads the file, which must exist and parse.
     *
     * @throws IllegalArgumentException naming the line that is wrong
     * @throws UncheckedIOException if the file cannot be read
     */
    public static AuthorizedKeys load(Path file) {
        return load(file, java.time.Duration.ofSeconds(1));
    }

    /** As {@link #load(Path)}, checking the file for changes at most once per {@code checkEvery}. */
    public static AuthorizedKeys load(Path file, java.time.Duration checkEvery) {
        AuthorizedKeys k = new AuthorizedKeys(Objects.requireNonNull(file, "file"), checkEvery.toNanos());
        synchronized (k) {
            k.read();
        }
        return k;
    }

    /**
     * Keys from text in the file's format, not reloaded.
     *
     * @throws IllegalArgumentException naming the line that is wrong
     */
    public static AuthorizedKeys parse(String text) {
        AuthorizedKeys k = new AuthorizedKeys(null, Long.MAX_VALUE);
        k.keys = parseLines(text, "text");
        return k;
    }

    /** Reads the file again now. @throws IllegalArgumentException (keeping the keys last read) if it does not parse */
    public synchronized void reload() {
        read();
    }

    /**
     * How many times the keys were (re)read, after checking the file for a change (at most once per {@code checkEvery});
     * a router turns away revoked connections when it changes.
     */
    public long generation() {
        maybeReload();
        return generation;
    }

    /** How many keys are allowed. */
    public int size() {
        return keys.size();
    }

    @Override
    public List<Identity> identities(byte[] publicKey) {
        maybeReload();
        List<Identity> ids = keys.get(CurveKeyPair.encode(publicKey));
        return ids == null ? List.of() : ids;
    }

    private void maybeReload() {
        if (file == null) {
            return;
        }
        synchronized (this) {
            long now = System.nanoTime();
            if (now - checkedAt < checkEveryNanos) {
                return;
            }
            checkedAt = now;
            try {
                if (Files.getLastModifiedTime(file).equals(readModified) && Files.size(file) == readSize) {
                    return;
                }
                read();
                log.info("reloaded {}: {} keys", file, keys.size());
            } catch (IOException | RuntimeException e) {
                log.warn("could not reload the authorized keys from {}: {}; the {} keys read before stay in force", file,
                        e.getMessage(), keys.size());
            }
        }
    }

    private void read() {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            long size = Files.size(file);
            keys = parseLines(Files.readString(file, StandardCharsets.UTF_8), file.toString());
            readModified = modified;
            readSize = size;
            checkedAt = System.nanoTime();
            generation++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the authorized keys file " + file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, List<Identity>> parseLines(String text, String source) {
        Map<String, List<Identity>> parsed = new HashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String where = source + ", line " + (n + 1) + ": ";
            String[] fields = fields(lines[n]);
            if (fields.length == 0) {
                continue;
            }
            if (fields.length < 2) {
                throw new IllegalArgumentException(where + "expected '<Z85 public key> <identity> [<identity> ...]'");
            }
            String key;
            try {
                key = CurveKeyPair.encode(CurveKeyPair.decode(fields[0], "the public key"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + e.getMessage(), e);
            }
            List<Identity> ids = new ArrayList<>();
            for (int i = 1; i < fields.length; i++) {
                try {
                    ids.add(identity(fields[i]));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + "identity '" + fields[i] + "': " + e.getMessage(), e);
                }
            }
            if (parsed.putIfAbsent(key, Collections.unmodifiableList(ids)) != null) {
                throw new IllegalArgumentException(where + "key " + key + " is listed twice; give it one line");
            }
        }
        return Collections.unmodifiableMap(parsed);
    }

    /**
     * The line's fields up to a comment. '#' is a Z85 character, so a comment is a field that starts with '#', except
     * a first field that is a key (40 characters of valid Z85).
     */
    private static String[] fields(String line) {
        String stripped = line.strip();
        if (stripped.isEmpty()) {
            return new String[0];
        }
        String[] all = stripped.split("\\s+");
        int end = 0;
        while (end < all.length) {
            String f = all[end];
            if (f.startsWith("#") && !(end == 0 && isKey(f))) {
                break;
            }
            end++;
        }
        return java.util.Arrays.copyOf(all, end);
    }

    private static boolean isKey(String field) {
        try {
            CurveKeyPair.decode(field, "key");
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Identity identity(String field) {
        if (field.startsWith("hex:")) {
            String hex = field.substring(4);
            if (hex.length() % 2 != 0) {
                throw new IllegalArgumentException("hex: needs an even number of hex digits");
            }
            byte[] bytes = new byte[hex.length() / 2];
            for (int i = 0; i < bytes.length; i++) {
                int hi = Character.digit(hex.charAt(2 * i), 16);
                int lo = Character.digit(hex.charAt(2 * i + 1), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("'" + hex.substring(2 * i, 2 * i + 2) + "' is not a hex byte");
                }
                bytes[i] = (byte) (hi << 4 | lo);
            }
            return Identity.of(bytes);
        }
        return Identity.of(field);
    }

    @Override
    public String toString() {
        return "AuthorizedKeys[" + (file == null ? "text" : file) + ", " + keys.size() + " keys]";
    }
}
