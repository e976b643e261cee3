package io.github.zmqliveness;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The default connection limit leaves room in the process's file-descriptor limit. */
class MaxConnectionsDefaultTest {
    @Test
    void theDefaultIsNinetyPercentOfTheFdLimitLeavingAtLeast256() {
        assertEquals(18_000, LivenessRouter.Builder.defaultMaxConnections(20_000), "this machine's limit");
        assertEquals(768, LivenessRouter.Builder.defaultMaxConnections(1_024), "a small limit keeps 256 for the rest");
        assertEquals(58_983, LivenessRouter.Builder.defaultMaxConnections(65_536));
        assertEquals(65_536, LivenessRouter.Builder.defaultMaxConnections(1_048_576), "never above 65,536");
        assertEquals(65_536, LivenessRouter.Builder.defaultMaxConnections(0), "limit unknown");
        assertEquals(50, LivenessRouter.Builder.defaultMaxConnections(100));
    }
}
