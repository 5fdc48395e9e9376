package org.servicefarm.api.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

class WeightsTest {

    @Test
    void readsPairsSeparatedByCommasPlusOrSpaces() {
        Weights expected = new Weights(Map.of(Weigher.LOAD, 1.0, Weigher.COST, 0.5, Weigher.SPEED, 2.0));
        assertEquals(expected, Weights.parse("load:1, cost:0.5, speed:2"));
        assertEquals(expected, Weights.parse("speed:2+load:1+cost:0.5"));
        assertEquals(expected, Weights.parse(" LOAD cost:0.5   speed:2 "));
        assertEquals(Weights.parse(expected.toString()), expected);
    }

    @Test
    void weighersWeighingNothingAreLeftOut() {
        assertEquals(Map.of(Weigher.FILL, 1.0), Weights.parse("fill:1 cost:0").weights());
        assertEquals(0.0, Weights.parse("fill:1").weight(Weigher.COST));
    }

    @Test
    void badWeightsSayWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Weights.parse("nearness:1")).getMessage()
                .contains("weighers: load, fill, room, cost, speed, vms, replicas"));
        assertThrows(IllegalArgumentException.class, () -> Weights.parse("load:-1"));
        assertThrows(IllegalArgumentException.class, () -> Weights.parse("load:NaN"));
        assertThrows(IllegalArgumentException.class, () -> Weights.parse("load:1 load:2"));
        assertThrows(IllegalArgumentException.class, () -> Weights.parse("load:1:2"));
        assertThrows(IllegalArgumentException.class, () -> Weights.parse(""));
        assertThrows(IllegalArgumentException.class, () -> Weights.parse("load:0"));
    }
}
