package io.github.zmqliveness.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.zmqliveness.protocol.Command.Reason;
import io.github.zmqliveness.protocol.Command.Type;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CommandTest {
    private static final byte[] INSTANCE = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, (byte) 0xFF};

    private static byte[] frame(int... bytes) {
        byte[] f = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            f[i] = (byte) bytes[i];
        }
        return f;
    }

    private static String decodeError(byte[] frame) {
        return assertThrows(MalformedCommandException.class, () -> Command.decode(frame)).getMessage();
    }

    @Test
    void everyCommandTypeSurvivesEncodeAndDecode() throws Exception {
        List<Command> all = List.of(
                Command.hello(INSTANCE, 0x0102030405060708L, Command.FLAG_RESUME),
                Command.welcome(Long.MAX_VALUE, 1_500, 3, 0),
                Command.heartbeat(),
                Command.bye(),
                Command.disconnect(Reason.CONFLICT, 30_000, "identité en conflit"),
                Command.disconnect(Reason.SHUTTING_DOWN, 0, null),
                Command.decode(Command.dataFrame()));
        Set<Type> covered = EnumSet.noneOf(Type.class);
        for (Command c : all) {
            Command back = Command.decode(c.encode());
            assertEquals(c, back, c + " changed on the wire");
            covered.add(back.type());
        }
        assertEquals(EnumSet.allOf(Type.class), covered);
    }

    @Test
    void decodedFieldsAreTheOnesEncoded() throws Exception {
        Command hello = Command.decode(Command.hello(INSTANCE, -7L, 0xFF).encode());
        assertArrayEquals(INSTANCE, hello.instance());
        assertEquals(-7L, hello.epoch());
        assertEquals(0xFF, hello.flags());

        Command welcome = Command.decode(Command.welcome(42, 2_000, 5, 1).encode());
        assertEquals(42, welcome.session());
        assertEquals(2_000, welcome.intervalMillis());
        assertEquals(5, welcome.liveness());
        assertEquals(1, welcome.flags());

        Command bye = Command.decode(Command.disconnect(Reason.EVICTED, 1_234, "silent for 3 s").encode());
        assertEquals(Reason.EVICTED, bye.reason());
        assertEquals(1_234, bye.retryAfterMillis());
        assertEquals("silent for 3 s", bye.text());
    }

    @Test
    void wireLayoutIsSignatureCommandByteThenBigEndianFields() {
        assertArrayEquals(frame(0xFF, 'Z', 'L', 1, 'P'), Command.heartbeat().encode());
        assertArrayEquals(Command.heartbeat().encode(), Command.heartbeatFrame());
        assertArrayEquals(frame(0xFF, 'Z', 'L', 1, 'W', 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0x03, 0xE8, 3, 0),
                Command.welcome(9, 1_000, 3, 0).encode());
    }

    @Test
    void retryAfterIsCappedOnBothSides() throws Exception {
        // The server side: whatever is asked, at most 5 minutes go on the wire.
        assertEquals(Command.MAX_RETRY_AFTER_MILLIS,
                Command.decode(Command.disconnect(Command.Reason.TRY_LATER, Long.MAX_VALUE, "").encode()).retryAfterMillis());
        assertEquals(0, Command.decode(Command.disconnect(Command.Reason.TRY_LATER, -5, "").encode()).retryAfterMillis());
        assertEquals(1234, Command.decode(Command.disconnect(Command.Reason.TRY_LATER, 1234, "").encode()).retryAfterMillis());
        // The client side: a frame from some other server asking for 0xFFFFFFFF ms (49 days) is read as 5 minutes.
        byte[] frame = Command.disconnect(Command.Reason.TRY_LATER, 1, "x").encode();
        for (int i = 6; i < 10; i++) {
            frame[i] = (byte) 0xFF; // the uint32 after the signature, command byte and reason
        }
        assertEquals(Command.MAX_RETRY_AFTER_MILLIS, Command.decode(frame).retryAfterMillis());
        frame[6] = 0x00; // 0x00FFFFFF ms: 4.6 hours
        assertEquals(Command.MAX_RETRY_AFTER_MILLIS, Command.decode(frame).retryAfterMillis());
    }

    @Test
    void isHelloOnlyForWellFormedHello() {
        byte[] hello = Command.hello(INSTANCE, 1, 0).encode();
        assertTrue(Command.isHello(hello));

        assertFalse(Command.isHello(Arrays.copyOf(hello, hello.length - 1)), "truncated");
        assertFalse(Command.isHello(Arrays.copyOf(hello, hello.length + 256)), "more than an identity's 255 bytes");
        byte[] otherVersion = hello.clone();
        otherVersion[3] = 2;
        assertFalse(Command.isHello(otherVersion), "other version");
        assertFalse(Command.isHello(Command.heartbeat().encode()));
        byte[] helloSizedData = new byte[hello.length];
        assertFalse(Command.isHello(helloSizedData), "zeros of HELLO's length");
    }

    @Test
    void helloMayNameAnIdentity() throws Exception {
        byte[] id = "host-a".getBytes(StandardCharsets.UTF_8);
        byte[] hello = Command.hello(INSTANCE, 7, Command.FLAG_RESUME, id).encode();
        assertEquals(30 + id.length, hello.length);
        assertTrue(Command.isHello(hello));
        Command decoded = Command.decode(hello);
        assertArrayEquals(id, decoded.identity());
        assertArrayEquals(INSTANCE, decoded.instance());
        assertEquals(7, decoded.epoch());
        assertEquals(Command.FLAG_RESUME, decoded.flags());
        assertEquals(null, Command.decode(Command.hello(INSTANCE, 1, 0).encode()).identity(), "none named");
        assertTrue(Command.isHello(Command.hello(INSTANCE, 1, 0, new byte[255]).encode()));
    }

    @Test
    void ordinaryPayloadsDoNotLookLikeCommands() {
        assertFalse(Command.looksLikeCommand(new byte[0]));
        assertFalse(Command.looksLikeCommand("hello".getBytes(StandardCharsets.UTF_8)));
        assertFalse(Command.looksLikeCommand(frame(0xFF, 'Z')));
        assertFalse(Command.looksLikeCommand(frame(0xFF, 'Z', 'X', 1, 'P')));
        assertTrue(Command.looksLikeCommand(frame(0xFF, 'Z', 'L')));
    }

    @Test
    void wrongVersionIsRejectedNamingBothVersions() {
        String msg = decodeError(frame(0xFF, 'Z', 'L', 2, 'P'));
        assertTrue(msg.contains("version 2") && msg.contains("1"), msg);
    }

    @Test
    void unknownCommandByteIsRejectedNamingTheByte() {
        assertTrue(decodeError(frame(0xFF, 'Z', 'L', 1, 'Q')).contains("0x51"));
    }

    @Test
    void truncatedHelloIsRejectedWithExpectedAndActualLength() {
        byte[] hello = Command.hello(INSTANCE, 1, 0).encode();
        String msg = decodeError(Arrays.copyOf(hello, 20));
        assertTrue(msg.contains("HELLO") && msg.contains("25") && msg.contains("15"), msg);
    }

    @Test
    void heartbeatWithExtraBytesIsRejected() {
        String msg = decodeError(frame(0xFF, 'Z', 'L', 1, 'P', 0));
        assertTrue(msg.contains("HEARTBEAT") && msg.contains("got 1"), msg);
    }

    @Test
    void headerShorterThanFiveBytesIsRejected() {
        assertTrue(decodeError(frame(0xFF, 'Z', 'L')).contains("3 bytes"));
        String msg = decodeError(frame(0xFF, 'Z', 'L', 1));
        assertTrue(msg.contains("4 bytes") && msg.contains("5-byte header"), msg);
    }

    @Test
    void shortDisconnectIsRejected() {
        assertTrue(decodeError(frame(0xFF, 'Z', 'L', 1, 'X', 1, 0)).contains("DISCONNECT"));
    }

    @Test
    void disconnectWithUnknownReasonDecodesAsTryLater() throws Exception {
        byte[] f = Command.disconnect(Reason.EVICTED, 500, "later").encode();
        f[5] = 99;
        Command c = Command.decode(f);
        assertEquals(Reason.TRY_LATER, c.reason());
        assertTrue(c.reason().retry);
        assertEquals(500, c.retryAfterMillis());
        assertEquals("later", c.text());
    }
}
