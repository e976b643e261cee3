package io.github.zmqliveness.cli;

/** JSON string escaping, enough for the tool's one-line objects; no parsing. */
final class Json {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Json() {
    }

    /** {@code text} as a JSON string literal, quotes included; null gives {@code null}. */
    static String quote(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(text.length() + 2);
        appendQuoted(sb, text);
        return sb.toString();
    }

    static void appendQuoted(StringBuilder sb, String text) {
        sb.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (needsUnicodeEscape(text, i)) {
                sb.append("\\u").append(HEX[(c >> 12) & 0xF]).append(HEX[(c >> 8) & 0xF])
                        .append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }

    /**
     * Control characters must be escaped for JSON; U+2028/2029 are escaped so a line stays one
     * line for JavaScript readers too; a lone surrogate is escaped because UTF-8 cannot encode it
     * and would silently turn it into '?'.
     */
    private static boolean needsUnicodeEscape(String text, int i) {
        char c = text.charAt(i);
        if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
            return true;
        }
        if (Character.isHighSurrogate(c)) {
            return i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1));
        }
        if (Character.isLowSurrogate(c)) {
            return i == 0 || !Character.isHighSurrogate(text.charAt(i - 1));
        }
        return false;
    }
}
