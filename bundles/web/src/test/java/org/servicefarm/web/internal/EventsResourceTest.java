package org.servicefarm.web.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.InvalidRequestException;

class EventsResourceTest {

    @Test
    void followIsTrueFalseOrLeftOutAndAnythingElseIsRefusedNamingTheField() {
        assertTrue(EventsResource.follow(null));
        assertTrue(EventsResource.follow("true"));
        assertFalse(EventsResource.follow("false"));
        InvalidRequestException refused = assertThrows(InvalidRequestException.class,
                () -> EventsResource.follow("yes"));
        assertEquals("follow", refused.field());
    }
}
