package io.github.zmqliveness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class IdentityTest {
    private static String rejection(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void emptyIdentityIsRejectedAskingForAName() {
        assertTrue(rejection(() -> Identity.of("")).contains("choose a name"));
        assertTrue(rejection(() -> Identity.of(new byte[0])).contains("choose a name"));
        assertTrue(rejection(() -> Identity.of((String) null)).contains("pass a non-empty name"));
    }

    @Test
    void identityLongerThan255BytesIsRejectedSayingTheLimit() {
        assertEquals(255, Identity.of("x".repeat(255)).length());
        String msg = rejection(() -> Identity.of(new byte[256]));
        assertTrue(msg.contains("256 bytes") && msg.contains("at most 255"), msg);
        // 128 characters, but 256 bytes in UTF-8
        assertTrue(rejection(() -> Identity.of("é".repeat(128))).contains("256 bytes"));
    }

    @Test
    void identityStartingWithZeroByteIsRejectedAskingForAnotherFirstByte() {
        String msg = rejection(() -> Identity.of(new byte[] {0, 'a'}));
        assertTrue(msg.contains("0x00") && msg.contains("choose another first byte"), msg);
        assertTrue(rejection(() -> Identity.of("\0worker")).contains("0x00"));
    }

    @Test
    void wireIdentityMayBeGenerated() {
        Identity generated = Identity.fromWire(new byte[] {0, 0x12, (byte) 0xAB, 0x00, 0x01});
        assertTrue(generated.isGenerated());
        assertEquals("hex:0012ab0001", generated.toString());
        assertFalse(Identity.fromWire("worker".getBytes(StandardCharsets.UTF_8)).isGenerated());
        assertFalse(Identity.of("worker").isGenerated());
    }

    @Test
    void identitiesAreEqualWhenTheirBytesAre() {
        Identity text = Identity.of("worker-1");
        Identity bytes = Identity.of("worker-1".getBytes(StandardCharsets.UTF_8));
        Identity wire = Identity.fromWire("worker-1".getBytes(StandardCharsets.UTF_8));
        assertEquals(text, bytes);
        assertEquals(text, wire);
        assertEquals(text.hashCode(), wire.hashCode());
        assertNotEquals(text, Identity.of("worker-2"));
        assertNotEquals(text, Identity.of("Worker-1"));
    }

    @Test
    void toStringIsTheTextForPrintableUtf8() {
        assertEquals("worker-1", Identity.of("worker-1").toString());
        assertEquals("nœud-é", Identity.of("nœud-é").toString());
    }

    @Test
    void toStringIsHexForBinaryControlCharactersOrInvalidUtf8() {
        assertEquals("hex:01ff7f", Identity.of(new byte[] {1, (byte) 0xFF, 0x7F}).toString());
        assertEquals("hex:610a62", Identity.of("a\nb").toString());
        assertEquals("hex:c3", Identity.of(new byte[] {(byte) 0xC3}).toString(), "truncated UTF-8 sequence");
        assertEquals("hex:c328", Identity.of(new byte[] {(byte) 0xC3, 0x28}).toString(), "invalid UTF-8 sequence");
        assertEquals("hex:61e280ae62", Identity.of("a\u202Eb").toString(), "an invisible right-to-left override");
    }

    @Test
    void bytesAreCopiedInAndOut() {
        byte[] input = {'a', 'b'};
        Identity id = Identity.of(input);
        input[0] = 'z';
        assertEquals("ab", id.toString(), "changing the caller's array changed the identity");

        byte[] out = id.toBytes();
        assertArrayEquals(new byte[] {'a', 'b'}, out);
        out[0] = 'z';
        assertEquals(Identity.of("ab"), id, "changing toBytes() changed the identity");
        assertArrayEquals(new byte[] {'a', 'b'}, id.toBytes());
    }
}
