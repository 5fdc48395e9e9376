package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.List;

/** Configuration lists: accepts typed arrays and comma-separated strings from .cfg files alike. */
final class Lists {
    private Lists() {
    }

    static List<String> split(String[] values) {
        List<String> result = new ArrayList<>();
        if (values != null) {
            for (String value : values) {
                for (String item : value.split(",")) {
                    String trimmed = item.trim();
                    if (!trimmed.isEmpty()) {
                        result.add(trimmed);
                    }
                }
            }
        }
        return result;
    }
}
