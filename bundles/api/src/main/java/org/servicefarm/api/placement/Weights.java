package org.servicefarm.api.placement;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A blend of weighers: a host's penalty is the weighted mean of its weighers' penalties, and its score, shown in
 * explanations, is one minus that (1 best, 0 worst). Weighers left out weigh nothing.
 *
 * @param weights a non-negative, finite weight per weigher, at least one of them positive
 */
public record Weights(Map<Weigher, Double> weights) {

    public Weights {
        EnumMap<Weigher, Double> checked = new EnumMap<>(Weigher.class);
        weights.forEach((weigher, weight) -> {
            if (weight == null || !(weight >= 0) || weight.isInfinite()) {
                throw new IllegalArgumentException("the weight of " + weigher.key() + " must be a number of 0 or more, "
                        + "not " + weight);
            }
            if (weight > 0) {
                checked.put(weigher, weight);
            }
        });
        if (checked.isEmpty()) {
            throw new IllegalArgumentException("at least one weigher must weigh more than 0");
        }
        weights = Collections.unmodifiableMap(checked);
    }

    /** One weigher alone. */
    public static Weights of(Weigher weigher) {
        return new Weights(Map.of(weigher, 1.0));
    }

    /**
     * Reads {@code weigher:weight} pairs separated by commas, '+' or white space, e.g. {@code load:1, cost:0.5} or
     * {@code speed:2+load:1}; a weigher without a weight weighs 1.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static Weights parse(String spec) {
        Map<Weigher, Double> weights = new EnumMap<>(Weigher.class);
        for (String pair : (spec == null ? "" : spec.trim()).split("[,+\\s]+")) {
            if (pair.isEmpty()) {
                continue;
            }
            String[] parts = pair.split(":", -1);
            if (parts.length > 2) {
                throw new IllegalArgumentException("'" + pair + "' must be weigher:weight");
            }
            Weigher weigher = Weigher.of(parts[0]);
            double weight;
            try {
                weight = parts.length == 1 ? 1.0 : Double.parseDouble(parts[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("the weight of " + weigher.key() + " must be a number, not '"
                        + parts[1] + "'");
            }
            if (weights.put(weigher, weight) != null) {
                throw new IllegalArgumentException(weigher.key() + " is weighted twice in '" + spec + "'");
            }
        }
        return new Weights(weights);
    }

    public double weight(Weigher weigher) {
        return weights.getOrDefault(weigher, 0.0);
    }

    /** As {@link #parse} reads it, e.g. {@code load:1.0 cost:0.5}. */
    @Override
    public String toString() {
        return weights.entrySet().stream().map(e -> e.getKey().key() + ":" + e.getValue())
                .collect(Collectors.joining(" "));
    }
}
