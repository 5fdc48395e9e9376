package org.servicefarm.api.suggest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;

class SuggestionsTest {

    static Offering offering(String service, String os, String server, String runtime, String level) {
        return new Offering(service, "1.0", new Environment(os, server, runtime, List.of()), level);
    }

    static final List<Offering> CATALOG = List.of(
            offering("wiki", "debian-12", "nginx-1.22", "php-8.2", "standard"),
            offering("wiki", "debian-12", "httpd-2.4", "php-8.2", "standard"),
            offering("wiki", "debian-12", "lighttpd-1.4", "php-8.2", "standard"),
            offering("wiki", "alpine-3.20", "nginx-1.22", "php-8.2", "standard"),
            offering("wiki", "debian-12", "nginx-1.22", "php-8.2", "high"),
            offering("shop", "windows-2022", "iis-10", "dotnet-8", "standard"),
            offering("blog", "debian-12", "nginx-1.22", "php-8.2", "standard"));

    /** A directory over CATALOG: a request is viable when an offering has every field it gives. */
    static final DirectoryView DIRECTORY = new DirectoryView() {
        @Override
        public Resolution resolve(ServiceRequest request) {
            return CATALOG.stream().filter(o -> Suggestions.differing(request, o) == 0
                            && o.service().equals(request.service())).findFirst()
                    .<Resolution>map(o -> new Resolution.Viable(o, List.of()))
                    .orElse(new Resolution.NotViable("no"));
        }

        @Override
        public List<Offering> offerings(int limit) {
            return CATALOG.subList(0, Math.min(limit, CATALOG.size()));
        }

        @Override
        public List<CatalogComponent> components() {
            return List.of();
        }

        @Override
        public List<String> rules() {
            return List.of();
        }

        @Override
        public List<String> securityLevels() {
            return List.of("standard", "high");
        }
    };

    static ServiceRequest request(String service, Environment environment, String level) {
        return new ServiceRequest(service, null, environment, level, "free", Duration.ofSeconds(5));
    }

    @Test
    void theSameServiceWithTheFieldThatBreaksARuleChangedAndTheOthersLeftOut() {
        List<ServiceRequest> suggestions = Suggestions.nearest(DIRECTORY,
                request("wiki", new Environment("windows-2022", null, null, List.of()), null));
        assertEquals(List.of(
                request("wiki", new Environment("debian-12", null, null, List.of()), null),
                request("wiki", new Environment("alpine-3.20", null, null, List.of()), null)), suggestions,
                "one per distinct change, in the catalog's order; tier and deadline kept");
    }

    @Test
    void atMostThreeAndOneFieldChangedBeforeTwo() {
        // debian-12 with iis-10 at level high: nginx at high changes one field; the others change two
        List<ServiceRequest> suggestions = Suggestions.nearest(DIRECTORY,
                request("wiki", new Environment("debian-12", "iis-10", null, List.of()), "high"));
        assertEquals(3, suggestions.size());
        assertEquals(request("wiki", new Environment("debian-12", "nginx-1.22", null, List.of()), "high"),
                suggestions.get(0));
        assertEquals(2, Suggestions.differing(request("wiki", new Environment("debian-12", "iis-10", null, List.of()),
                "high"), CATALOG.get(1)));
        suggestions.forEach(s -> assertTrue(DIRECTORY.resolve(s) instanceof Resolution.Viable, s.toString()));
    }

    @Test
    void anUnknownServiceGetsTheNamesAKeyboardSlipAwayAndNothingWhenNoneIsNear() {
        List<ServiceRequest> didYouMean = Suggestions.nearest(DIRECTORY, request("wikki", Environment.ANY, null));
        assertEquals("wiki", didYouMean.get(0).service());
        assertTrue(didYouMean.stream().allMatch(s -> s.service().equals("wiki")));
        assertEquals(List.of("shop"), Suggestions.nearest(DIRECTORY, request("shp", Environment.ANY, null)).stream()
                .map(ServiceRequest::service).distinct().toList());
        assertTrue(Suggestions.nearest(DIRECTORY, request("database", Environment.ANY, null)).isEmpty());
        // a known service is never answered with another one
        assertFalse(Suggestions.nearest(DIRECTORY, request("blog", new Environment("windows-2022", null, null,
                List.of()), null)).stream().anyMatch(s -> !s.service().equals("blog")));
    }

    @Test
    void aMisspeltValueGetsTheValueItWasMeantToBeFirst() {
        // alpine comes after debian in the catalog; spelled nearer, it comes first
        List<ServiceRequest> suggestions = Suggestions.nearest(DIRECTORY,
                request("wiki", new Environment("alpin-3.20", null, null, List.of()), null));
        assertEquals("alpine-3.20", suggestions.get(0).environment().os());
        assertEquals("debian-12", suggestions.get(1).environment().os());
    }

    @Test
    void editDistance() {
        assertEquals(0, Suggestions.editDistance("wiki", "wiki"));
        assertEquals(1, Suggestions.editDistance("wikki", "wiki"));
        assertEquals(3, Suggestions.editDistance("kitten", "sitting"));
    }
}
