package io.github.zmqliveness.transport;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What build() says when the loop cannot start. */
class StartFailureTest {

    @Test
    void aWrongJeroMqOnTheClassPathIsNamedWithWhatToDoAndTheCauseKept() {
        NoSuchMethodError missing = new NoSuchMethodError("'void zmq.SocketBase.setEventHook(...)'");
        RuntimeException e = RouterLoop.describeStartFailure(missing);
        assertTrue(e.getMessage().contains("needs JeroMQ 0.6.0") && e.getMessage().contains("org.zeromq:jeromq:0.6.0"), e.getMessage());
        assertSame(missing, e.getCause());
    }

    @Test
    void aRuntimeFailureIsThrownAsItIs() {
        IllegalArgumentException bind = new IllegalArgumentException("cannot bind tcp://127.0.0.1:1");
        assertSame(bind, RouterLoop.describeStartFailure(bind));
        assertSame(bind.getClass(), RouterLoop.describeStartFailure(bind).getClass());
    }
}
