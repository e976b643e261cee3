package io.github.zmqliveness;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a DealerClient's builder refuses at once, instead of a client thread that dies later. */
class ClientSettingsTest {

    @Test
    void endpointsThatZeroMqCannotUseAreRefusedInTheBuilder() {
        for (String bad : List.of("nonsense", "tcp://", "tcp://host", "tcp://host:", "tcp://host:0", "tcp://host:70000",
                "tcp://:5555", "tcp://host:55x5", "udp://host:5555", "ipc://", "127.0.0.1:5555")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DealerClient.builder().identity("a").connect(bad), bad);
            assertTrue(e.getMessage().contains(bad) && e.getMessage().contains("tcp://host:port"), e.getMessage());
        }
        DealerClient.builder().connect("tcp://127.0.0.1:5555", "tcp://server.example:1", "tcp://[::1]:5555", "ipc:///tmp/x",
                "inproc://a"); // accepted (nothing connects before build())
    }

    @Test
    void curveKeysMustBeKeysAndThePairMustMatch() {
        CurveKeyPair server = CurveKeyPair.generate();
        CurveKeyPair mine = CurveKeyPair.generate();
        CurveKeyPair other = CurveKeyPair.generate();
        assertThrows(IllegalArgumentException.class,
                () -> DealerClient.builder().curve("short", mine.publicKey(), mine.secretKey()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DealerClient.builder().curve(server.publicKey(), other.publicKey(), mine.secretKey()));
        assertTrue(e.getMessage().contains("not the one of the secret key"), e.getMessage());
    }
}
