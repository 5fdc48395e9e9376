package org.servicefarm.core.internal;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.servicefarm.api.ConflictException;
import org.servicefarm.api.InvalidRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps what the appliances sharing the store added through their APIs (hosts, native services) the same on each: an
 * item added or removed here is put or removed farm-wide, and each {@link #follow} round this appliance takes on what
 * the others did: it adds the items registered elsewhere, and removes those unregistered elsewhere once it can. An item
 * added through the API before the store knew it (an earlier run, another database) is registered, not removed: only
 * a registration this appliance saw and that then went counts as a removal. What an appliance has from its own
 * {@code etc/} files is its own and never shared.
 *
 * @param <T> what is registered
 */
final class FarmWide<T> {

    private static final Logger LOG = LoggerFactory.getLogger(FarmWide.class);

    /**
     * This appliance's side.
     *
     * @param has             whether one of that name is configured here, from the API or a file
     * @param add             adds one registered elsewhere; a refusal (invalid here, a conflict, no driver) throws
     * @param addedThroughApi the names of those added through the API, here or followed
     * @param get             the one of that name
     * @param remove          removes one unregistered elsewhere; a {@link ConflictException} when it cannot go yet
     */
    record Here<T>(Predicate<String> has, Consumer<T> add, Supplier<Set<String>> addedThroughApi,
                   Function<String, Optional<T>> get, Consumer<String> remove) {
    }

    /** The store's side: what is registered farm-wide. */
    record Store<T>(Supplier<List<T>> all, Consumer<T> put, Consumer<String> remove) {
    }

    private final String what;
    private final Function<T, String> name;
    /** The names this appliance saw registered farm-wide: one gone from the store was removed elsewhere. */
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    /** Items registered elsewhere that this appliance refuses: said once each. */
    private final Set<String> refused = ConcurrentHashMap.newKeySet();

    /** @param what what an item is, capitalised, for the log ("Host", "Native service") */
    FarmWide(String what, Function<T, String> name) {
        this.what = what;
        this.name = name;
    }

    /** After {@code item} was added here: registered farm-wide too, or at the next follow should the store fail now. */
    void added(T item, Store<T> store) {
        if (store == null) {
            return;
        }
        try {
            store.put().accept(item);
            seen.add(name.apply(item));
        } catch (RuntimeException e) { // it is here; the next follow publishes it
            LOG.warn("{} {} was added here but not registered farm-wide yet: {}", what, name.apply(item),
                    e.getMessage());
        }
    }

    /** After the item named {@code removed} was removed here: its farm-wide registration goes too. */
    void removed(String removed, Store<T> store) {
        if (store != null) {
            seen.remove(removed);
            store.remove().accept(removed);
        }
    }

    /** Makes what was added here through the API what is registered farm-wide. */
    void follow(Store<T> store, Here<T> here) {
        if (store == null) {
            return;
        }
        Set<String> names = new TreeSet<>();
        for (T item : store.all().get()) {
            String itemName = name.apply(item);
            names.add(itemName);
            if (here.has().test(itemName)) {
                continue;
            }
            try {
                here.add().accept(item);
                LOG.info("{} {} registered by another appliance is added here", what, itemName);
            } catch (InvalidRequestException | IllegalStateException e) { // a conflict, a driver missing here, ...
                if (refused.add(itemName)) {
                    LOG.warn("{} {} registered by another appliance is not added here: {}", what, itemName,
                            e.getMessage());
                }
            }
        }
        for (String itemName : here.addedThroughApi().get()) {
            if (names.contains(itemName)) {
                continue;
            }
            if (!seen.contains(itemName)) { // added here before the store knew it: published
                here.get().apply(itemName).ifPresent(store.put());
                names.add(itemName);
                continue;
            }
            try {
                here.remove().accept(itemName);
                seen.remove(itemName);
                LOG.info("{} {} unregistered by another appliance is removed here", what, itemName);
            } catch (ConflictException e) {
                LOG.debug("{} {} unregistered elsewhere cannot be removed here yet: {}", what, itemName,
                        e.getMessage());
            }
        }
        seen.addAll(names);
    }
}
