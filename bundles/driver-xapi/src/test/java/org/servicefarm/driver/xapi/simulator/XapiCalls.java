package org.servicefarm.driver.xapi.simulator;

import static org.servicefarm.driver.xapi.simulator.Pool.NULL;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.servicefarm.driver.xapi.simulator.Pool.Obj;

/**
 * The XAPI calls the simulator answers, on the {@link Pool}: the explicit ones (power, clone, create, destroy,
 * validated setters) and, for every class, the generated ones XAPI has for each field (get_record, get_all,
 * get_all_records, get_by_uuid, get_by_name_label, get_&lt;field&gt;, and set_/add_to_/remove_from_ of the fields
 * a client may write). Rules and error parameters are XAPI's (xapi_vm_lifecycle.ml, xapi_vm.ml, xapi_vdi.ml).
 */
final class XapiCalls {

    private static final long MIB = 1L << 20;
    private static final Set<String> CLASSES =
            Set.of("pool", "host", "SR", "network", "VM", "VDI", "VBD", "VIF", "VM_guest_metrics", "task");
    private static final List<String> NAMES = List.of("name_label", "name_description", "other_config");
    private static final Map<String, List<String>> WRITABLE = Map.of(
            "VM", List.of("name_label", "name_description", "PV_bootloader", "PV_args", "PV_kernel", "PV_ramdisk",
                    "HVM_boot_policy", "domain_type", "other_config", "xenstore_data"),
            "VDI", List.of("name_label", "name_description", "other_config", "sm_config", "xenstore_data"),
            "pool", NAMES, "host", NAMES, "SR", NAMES, "network", NAMES,
            "VBD", List.of("other_config"), "VIF", List.of("other_config"));
    /** What XAPI lets a template do (check_template); destroy too, unless it is a default template. */
    private static final Set<String> TEMPLATE_OPERATIONS = Set.of("clone", "changing_VCPUs", "changing_memory_limits");

    @FunctionalInterface
    private interface Call {
        Object apply(String session, List<JsonNode> args) throws InterruptedException;
    }

    /** A call: its parameters after the session, the trailing ones with a default value, and whether it takes one. */
    private record Method(int arity, int optional, boolean session, Call call) {
    }

    final Pool pool = new Pool();
    private final ObjectMapper json = new ObjectMapper();
    private final String username;
    private final String password;
    private final Path dataDir;
    private final SimulatedGuestServices guests;
    private final ScheduledExecutorService agent;
    volatile Duration bootDelay = Duration.ofMillis(300);
    /** How long an {@code Async.} call's task stays pending. */
    volatile Duration taskDelay = Duration.ofMillis(20);
    private static final String ASYNC = "Async.";
    private final Map<String, Method> methods = new HashMap<>();
    private final Map<String, Integer> calls = new ConcurrentHashMap<>();
    /** The file of each VDI (by ref): a clone shares its original's until one of them is written. */
    private final Map<String, Path> vdiFiles = new HashMap<>();
    /** The loopback address of each VIF (by ref), the guest's address on it. */
    private final Map<String, String> vifAddresses = new HashMap<>();
    /** The boots under way (by VM ref): a boot ends only if it is still the VM's current one. */
    private final Map<String, Object> booting = new HashMap<>();
    private final Obj master;
    private int vifs;
    private long domids;

    XapiCalls(Path dataDir, String username, String password, List<String> hostNames,
            SimulatedGuestServices guests, ScheduledExecutorService agent) {
        this.dataDir = dataDir;
        this.username = username;
        this.password = password;
        this.guests = guests;
        this.agent = agent;
        defineCalls();
        pool.lock.lock();
        try {
            Obj sr = pool.create("SR", blank("SR"));
            sr.rec.putAll(Map.of("name_label", "Local storage", "physical_size", 1L << 40));
            pool.create("network", blank("network")).rec.put("name_label", "Pool-wide network associated with eth0");
            List<Obj> hosts = new ArrayList<>();
            for (String name : hostNames) {
                Obj host = pool.create("host", blank("host"));
                host.rec.putAll(Map.of("name_label", name, "hostname", name));
                hosts.add(host);
                Obj dom0 = pool.create("VM", blank("VM"));
                dom0.rec.putAll(Map.of("name_label", "Control domain on host: " + name, "is_control_domain", true,
                        "power_state", "Running", "resident_on", host.ref, "domid", 0L));
            }
            master = hosts.get(0);
            Obj thePool = pool.create("pool", blank("pool"));
            thePool.rec.putAll(Map.of("master", master.ref, "default_SR", sr.ref));
            Obj template = pool.create("VM", blank("VM"));
            template.rec.putAll(Map.of("name_label", "Other install media", "is_a_template", true));
            template.map("other_config").putAll(Map.of("default_template", "true", "install-methods", "cdrom"));
        } finally {
            pool.lock.unlock();
        }
    }

    /** A new record of {@code cls}, every field at its default (whose type is the field's type). */
    private static Map<String, Object> blank(String cls) {
        Map<String, Object> r = new LinkedHashMap<>(Map.of("uuid", ""));
        switch (cls) {
            case "pool" -> put(r, "name_label", "", "name_description", "", "master", NULL, "default_SR", NULL,
                    "other_config", new LinkedHashMap<>());
            case "host" -> put(r, "name_label", "", "name_description", "", "hostname", "", "address", "127.0.0.1",
                    "enabled", true, "memory_overhead", 1024 * MIB, "API_version_major", 2L, "API_version_minor", 21L,
                    "API_version_vendor", "XenSource",
                    "software_version", new LinkedHashMap<>(Map.of("xapi", "24.11", "platform_version", "3.4.0")),
                    "cpu_info", new LinkedHashMap<>(Map.of("cpu_count", "8")), "other_config", new LinkedHashMap<>());
            case "SR" -> put(r, "name_label", "", "name_description", "", "type", "ext", "content_type", "user",
                    "shared", false, "physical_size", 0L, "physical_utilisation", 0L, "virtual_allocation", 0L,
                    "VDIs", new ArrayList<>(), "other_config", new LinkedHashMap<>(), "sm_config", new LinkedHashMap<>());
            case "network" -> put(r, "name_label", "", "name_description", "", "bridge", "xenbr0", "MTU", 1500L,
                    "VIFs", new ArrayList<>(), "other_config", new LinkedHashMap<>());
            case "VM" -> put(r, "name_label", "", "name_description", "", "power_state", "Halted",
                    "is_a_template", false, "is_control_domain", false, "resident_on", NULL, "domid", -1L,
                    "VCPUs_max", 1L, "VCPUs_at_startup", 1L, "memory_static_min", 256 * MIB,
                    "memory_static_max", 256 * MIB, "memory_dynamic_min", 256 * MIB, "memory_dynamic_max", 256 * MIB,
                    "PV_bootloader", "", "PV_args", "", "PV_kernel", "", "PV_ramdisk", "",
                    "HVM_boot_policy", "BIOS order", "HVM_boot_params", new LinkedHashMap<>(Map.of("order", "cdn")),
                    "domain_type", "hvm",
                    "other_config", new LinkedHashMap<>(), "xenstore_data", new LinkedHashMap<>(),
                    "VBDs", new ArrayList<>(), "VIFs", new ArrayList<>(), "guest_metrics", NULL, "suspend_VDI", NULL);
            case "VDI" -> put(r, "name_label", "", "name_description", "", "SR", NULL, "virtual_size", 0L,
                    "physical_utilisation", 0L, "type", "user", "sharable", false, "read_only", false, "managed", true,
                    "location", "", "VBDs", new ArrayList<>(), "other_config", new LinkedHashMap<>(),
                    "xenstore_data", new LinkedHashMap<>(), "sm_config", new LinkedHashMap<>(), "tags", new ArrayList<>());
            case "VBD" -> put(r, "VM", NULL, "VDI", NULL, "userdevice", "0", "bootable", false, "mode", "RW",
                    "type", "Disk", "unpluggable", true, "empty", false, "currently_attached", false,
                    "other_config", new LinkedHashMap<>(), "qos_algorithm_type", "",
                    "qos_algorithm_params", new LinkedHashMap<>());
            case "VIF" -> put(r, "device", "0", "network", NULL, "VM", NULL, "MAC", "", "MAC_autogenerated", false,
                    "MTU", 1500L, "currently_attached", false, "other_config", new LinkedHashMap<>(),
                    "qos_algorithm_type", "", "qos_algorithm_params", new LinkedHashMap<>(),
                    "locking_mode", "network_default", "ipv4_allowed", new ArrayList<>(), "ipv6_allowed", new ArrayList<>());
            case "VM_guest_metrics" -> put(r, "os_version", new LinkedHashMap<>(), "networks", new LinkedHashMap<>(),
                    "PV_drivers_detected", false, "PV_drivers_version", new LinkedHashMap<>(),
                    "other", new LinkedHashMap<>(), "last_updated", "", "live", true);
            case "task" -> put(r, "name_label", "", "name_description", "", "status", "pending", "progress", 0L,
                    "result", "", "error_info", new ArrayList<>(), "created", "", "finished", "",
                    "other_config", new LinkedHashMap<>());
            default -> throw new IllegalArgumentException(cls);
        }
        return r;
    }

    private static void put(Map<String, Object> record, Object... fieldsAndValues) {
        for (int i = 0; i < fieldsAndValues.length; i += 2) {
            record.put((String) fieldsAndValues[i], fieldsAndValues[i + 1]);
        }
    }

    /** A copy that shares nothing mutable with {@code record} (its maps and lists are one level deep). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Map<String, Object> copy(Map<String, Object> record) {
        Map<String, Object> copy = new LinkedHashMap<>();
        record.forEach((field, value) -> copy.put(field, value instanceof Map m ? new LinkedHashMap<>(m)
                : value instanceof List l ? new ArrayList<>(l) : value));
        return copy;
    }

    /** {@code value} as the type of {@code like}, a field's default. */
    private static Object convert(Object like, JsonNode value) {
        if (like instanceof Long) {
            return value.asLong();
        } else if (like instanceof Boolean) {
            return value.asBoolean();
        } else if (like instanceof Map) {
            Map<String, String> map = new LinkedHashMap<>();
            value.fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
            return map;
        } else if (like instanceof List) {
            List<String> list = new ArrayList<>();
            value.forEach(e -> list.add(e.asText()));
            return list;
        }
        return value.asText();
    }

    /** A record of {@code cls} from a client's, only {@code fields} taken from it. */
    private static Map<String, Object> fromClient(String cls, JsonNode given, String... fields) {
        Map<String, Object> record = blank(cls);
        for (String field : fields) {
            if (given.has(field)) {
                record.put(field, convert(record.get(field), given.get(field)));
            }
        }
        return record;
    }

    int calls(String method) {
        return calls.getOrDefault(method, 0);
    }

    /** Answers one call, as XAPI: unknown method, then parameter count, then session, then the call's own checks. */
    JsonNode call(String name, List<JsonNode> params) throws InterruptedException {
        calls.merge(name, 1, Integer::sum);
        boolean async = name.startsWith(ASYNC);
        String called = async ? name.substring(ASYNC.length()) : name;
        Method method = methods.containsKey(called) ? methods.get(called) : generated(called);
        if (method == null) {
            throw new XapiException("MESSAGE_METHOD_UNKNOWN", name);
        }
        int first = method.session ? 1 : 0;
        int received = params.size() - first;
        if (received < method.arity - method.optional || received > method.arity) {
            throw new XapiException("MESSAGE_PARAMETER_COUNT_MISMATCH", name,
                    String.valueOf(method.arity - method.optional), String.valueOf(received));
        }
        pool.lock.lockInterruptibly();
        try {
            String session = method.session ? params.get(0).asText() : null;
            if (method.session) {
                pool.checkSession(session);
            }
            List<JsonNode> args = params.subList(first, params.size());
            if (async) {
                return json.valueToTree(task(called, () -> method.call.apply(session, args)));
            }
            // serialised under the lock: the answer shares nothing with the records
            return json.valueToTree(method.call.apply(session, args));
        } finally {
            pool.lock.unlock();
        }
    }

    /**
     * XAPI's {@code Async.} form of a call: a task, pending for {@link #taskDelay}, then succeeded with the call's
     * result (as a string) or failed with its error ({@code error_info}: the name, then the parameters). The call
     * takes effect at once; only its task's status waits, so a client's polling is what is tested.
     */
    private String task(String name, AsyncCall call) throws InterruptedException {
        Obj task = pool.create("task", blank("task"));
        put(task.rec, "name_label", "Async." + name, "created", Pool.datetime(Instant.now()));
        String status;
        Object result = null;
        List<String> error = List.of();
        try {
            result = call.run();
            status = "success";
        } catch (XapiException e) {
            status = "failure";
            error = new ArrayList<>(List.of(e.getMessage()));
            error.addAll(e.params);
        }
        String finalStatus = status;
        String text = result == null ? "" : String.valueOf(result);
        List<String> errorInfo = error;
        Runnable finish = () -> pool.locked(() -> {
            if (task.deleted == 0 && "pending".equals(task.str("status"))) { // not destroyed nor cancelled
                put(task.rec, "status", finalStatus, "progress", 1L, "result", text, "error_info",
                        new ArrayList<>(errorInfo), "finished", Pool.datetime(Instant.now()));
                pool.touch(task);
            }
        });
        try {
            agent.schedule(finish, taskDelay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            finish.run(); // the simulator is closing
        }
        return task.ref;
    }

    @FunctionalInterface
    private interface AsyncCall {
        Object run() throws InterruptedException;
    }

    private void define(String name, int arity, Call call) {
        methods.put(name, new Method(arity, 0, true, call));
    }

    private Obj arg(String cls, List<JsonNode> args, int i) {
        return pool.get(cls, args.get(i).asText());
    }

    private void defineCalls() {
        methods.put("session.login_with_password", new Method(4, 2, false, (s, a) -> {
            if (!a.get(0).asText().equals(username) || !a.get(1).asText().equals(password)) {
                throw new XapiException("SESSION_AUTHENTICATION_FAILED", a.get(0).asText(), "Authentication failure");
            }
            return pool.login();
        }));
        define("session.logout", 0, (s, a) -> {
            pool.logout(s);
            return "";
        });
        define("event.from", 3, (s, a) -> {
            List<String> classes = new ArrayList<>();
            a.get(0).forEach(c -> classes.add(c.asText()));
            return pool.eventsFrom(s, classes, a.get(1).asText(), a.get(2).asDouble());
        });
        define("VM.clone", 2, (s, a) -> cloneVm(arg("VM", a, 0), a.get(1).asText()).ref);
        define("VM.set_is_a_template", 2, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            if (a.get(1).asBoolean()) {
                assertOperation(vm, "make_into_template", "halted");
            }
            pool.set(vm, "is_a_template", a.get(1).asBoolean());
            return "";
        });
        define("VM.set_VCPUs_max", 2, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            assertOperation(vm, "changing_VCPUs", "halted");
            long value = a.get(1).asLong();
            return setVcpus(vm, "VCPUs_max", value, value >= (Long) vm.rec.get("VCPUs_at_startup"));
        });
        // no power-state rule in XAPI: it is read at the next start
        define("VM.set_VCPUs_at_startup", 2, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            long value = a.get(1).asLong();
            return setVcpus(vm, "VCPUs_at_startup", value, value <= (Long) vm.rec.get("VCPUs_max"));
        });
        define("VM.set_memory_limits", 5, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            assertOperation(vm, "changing_memory_limits", "halted");
            long[] limits = {a.get(1).asLong(), a.get(3).asLong(), a.get(4).asLong(), a.get(2).asLong()};
            if (limits[0] > limits[1] || limits[1] > limits[2] || limits[2] > limits[3]) {
                throw new XapiException("MEMORY_CONSTRAINT_VIOLATION_ORDER");
            }
            put(vm.rec, "memory_static_min", limits[0], "memory_dynamic_min", limits[1],
                    "memory_dynamic_max", limits[2], "memory_static_max", limits[3]);
            pool.touch(vm);
            return "";
        });
        define("VM.start", 3, (s, a) -> start(arg("VM", a, 0), "start", master, a.get(1).asBoolean()));
        define("VM.start_on", 4, (s, a) -> start(arg("VM", a, 0), "start_on", arg("host", a, 1), a.get(2).asBoolean()));
        define("VM.pause", 1, (s, a) -> transition(arg("VM", a, 0), "pause", "Paused", "running"));
        define("VM.unpause", 1, (s, a) -> transition(arg("VM", a, 0), "unpause", "Running", "paused"));
        define("VM.suspend", 1, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            assertOperation(vm, "suspend", "running");
            suspendImage(vm);
            return power(vm, "Suspended");
        });
        define("VM.resume", 3, (s, a) -> resume(arg("VM", a, 0), "resume", master, a.get(1).asBoolean()));
        define("VM.resume_on", 4, (s, a) -> resume(arg("VM", a, 0), "resume_on", arg("host", a, 1),
                a.get(2).asBoolean()));
        define("VM.hard_shutdown", 1, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            assertOperation(vm, "hard_shutdown", "paused", "suspended", "running");
            dropSuspendImage(vm);
            return power(vm, "Halted");
        });
        define("VM.clean_shutdown", 1, (s, a) -> transition(arg("VM", a, 0), "clean_shutdown", "Halted", "running"));
        define("VM.destroy", 1, (s, a) -> {
            Obj vm = arg("VM", a, 0);
            assertOperation(vm, "destroy", "halted", "suspended");
            List.copyOf(vm.list("VBDs")).forEach(vbd -> destroyVbd(pool.get("VBD", vbd)));
            for (String ref : vm.list("VIFs")) {
                Obj vif = pool.get("VIF", ref);
                pool.get("network", vif.str("network")).list("VIFs").remove(ref);
                vifAddresses.remove(ref);
                pool.destroy(vif);
            }
            dropGuestMetrics(vm);
            dropSuspendImage(vm);
            pool.destroy(vm);
            return "";
        });
        define("task.cancel", 1, (s, a) -> {
            Obj task = arg("task", a, 0);
            if ("pending".equals(task.str("status"))) {
                put(task.rec, "status", "cancelled", "finished", Pool.datetime(Instant.now()));
                pool.touch(task);
            }
            return "";
        });
        define("task.destroy", 1, (s, a) -> {
            pool.destroy(arg("task", a, 0));
            return "";
        });
        define("VDI.create", 1, (s, a) -> createVdi(fromClient("VDI", a.get(0), "name_label", "name_description", "SR",
                "virtual_size", "type", "sharable", "read_only", "other_config", "xenstore_data", "sm_config", "tags"),
                null).ref);
        define("VDI.clone", 2, (s, a) -> {
            Obj vdi = arg("VDI", a, 0);
            Map<String, Object> record = copy(vdi.rec);
            record.put("VBDs", new ArrayList<>());
            return createVdi(record, vdiFiles.get(vdi.ref)).ref;
        });
        define("VDI.destroy", 1, (s, a) -> {
            Obj vdi = arg("VDI", a, 0);
            for (String vbd : vdi.list("VBDs")) {
                if (Set.of("Running", "Paused").contains(pool.get("VM", pool.get("VBD", vbd).str("VM")).str("power_state"))) {
                    throw new XapiException("VDI_IN_USE", vdi.ref, "destroy");
                }
            }
            List.copyOf(vdi.list("VBDs")).forEach(vbd -> destroyVbd(pool.get("VBD", vbd)));
            destroyVdi(vdi);
            return "";
        });
        define("VBD.create", 1, (s, a) -> createVbd(fromClient("VBD", a.get(0), "VM", "VDI", "userdevice", "bootable",
                "mode", "type", "unpluggable", "empty", "other_config", "qos_algorithm_type", "qos_algorithm_params")).ref);
        define("VBD.destroy", 1, (s, a) -> {
            Obj vbd = arg("VBD", a, 0);
            if (Boolean.TRUE.equals(vbd.rec.get("currently_attached"))) { // XAPI: unplug it first
                throw new XapiException("DEVICE_ALREADY_ATTACHED", vbd.ref);
            }
            destroyVbd(vbd);
            return "";
        });
        define("VIF.create", 1, (s, a) -> createVif(fromClient("VIF", a.get(0), "device", "network", "VM", "MAC", "MTU",
                "other_config", "qos_algorithm_type", "qos_algorithm_params", "locking_mode", "ipv4_allowed",
                "ipv6_allowed")).ref);
    }

    /** The calls XAPI generates for the fields of a class, or null if {@code name} is none of them. */
    private Method generated(String name) {
        int dot = name.indexOf('.');
        String cls = dot < 0 ? "" : name.substring(0, dot);
        if (!CLASSES.contains(cls)) {
            return null;
        }
        String call = name.substring(dot + 1);
        Map<String, Object> blank = blank(cls);
        List<String> writable = WRITABLE.getOrDefault(cls, List.of());
        String field = call.replaceFirst("^(get_|set_|add_to_|remove_from_)", "");
        return switch (call) {
            case "get_all" -> new Method(0, 0, true, (s, a) -> pool.all(cls).stream().map(o -> o.ref).toList());
            case "get_all_records" -> new Method(0, 0, true, (s, a) -> {
                Map<String, Object> records = new LinkedHashMap<>();
                pool.all(cls).forEach(o -> records.put(o.ref, o.rec));
                return records;
            });
            case "get_record" -> new Method(1, 0, true, (s, a) -> arg(cls, a, 0).rec);
            case "get_by_uuid" -> new Method(1, 0, true, (s, a) -> pool.all(cls).stream()
                    .filter(o -> o.str("uuid").equals(a.get(0).asText())).findFirst()
                    .orElseThrow(() -> new XapiException("UUID_INVALID", cls, a.get(0).asText())).ref);
            case "get_by_name_label" -> blank.containsKey("name_label") ? new Method(1, 0, true, (s, a) -> pool.all(cls)
                    .stream().filter(o -> o.str("name_label").equals(a.get(0).asText())).map(o -> o.ref).toList()) : null;
            default -> {
                if (call.startsWith("get_") && blank.containsKey(field)) {
                    yield new Method(1, 0, true, (s, a) -> arg(cls, a, 0).rec.get(field));
                } else if (!writable.contains(field)) {
                    yield null;
                } else if (call.startsWith("set_")) {
                    yield new Method(2, 0, true, (s, a) -> {
                        pool.set(arg(cls, a, 0), field, convert(blank.get(field), a.get(1)));
                        return "";
                    });
                } else if (!(blank.get(field) instanceof Map)) {
                    yield null;
                } else if (call.startsWith("add_to_")) {
                    yield new Method(3, 0, true, (s, a) -> {
                        Obj obj = arg(cls, a, 0);
                        if (obj.map(field).putIfAbsent(a.get(1).asText(), a.get(2).asText()) != null) {
                            throw new XapiException("MAP_DUPLICATE_KEY", cls, field, obj.ref, a.get(1).asText());
                        }
                        pool.touch(obj);
                        return "";
                    });
                } else {
                    yield new Method(2, 0, true, (s, a) -> {
                        Obj obj = arg(cls, a, 0);
                        obj.map(field).remove(a.get(1).asText());
                        pool.touch(obj);
                        return "";
                    });
                }
            }
        };
    }

    /**
     * XAPI's check of an operation on a VM (Xapi_vm_lifecycle.check_operation_error): the power state first,
     * {@code allowed} in XAPI's order and words; then what a template or a control domain may not do.
     */
    private static void assertOperation(Obj vm, String operation, String... allowed) {
        String actual = vm.str("power_state").toLowerCase(Locale.ROOT);
        if (!Arrays.asList(allowed).contains(actual)) {
            throw new XapiException("VM_BAD_POWER_STATE", vm.ref, String.join(", ", allowed), actual);
        }
        boolean defaultTemplate = "true".equals(vm.map("other_config").get("default_template"));
        if (Boolean.TRUE.equals(vm.rec.get("is_a_template")) && !TEMPLATE_OPERATIONS.contains(operation)
                && !(operation.equals("destroy") && !defaultTemplate)) {
            throw new XapiException("VM_IS_TEMPLATE", vm.ref, operation);
        }
        if (Boolean.TRUE.equals(vm.rec.get("is_control_domain"))) {
            throw new XapiException("OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain");
        }
    }

    /** {@code ordered}: VCPUs_at_startup &lt;= VCPUs_max once set (so a client sets them in the right order). */
    private Object setVcpus(Obj vm, String field, long value, boolean ordered) {
        if (value < 1 || !ordered) {
            throw new XapiException("INVALID_VALUE", "VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max",
                    String.valueOf(value));
        }
        pool.set(vm, field, value);
        return "";
    }

    private Object start(Obj vm, String operation, Obj host, boolean paused) {
        assertOperation(vm, operation, "halted");
        dropGuestMetrics(vm); // the last boot's, now wrong: XAPI drops them as it starts the VM
        put(vm.rec, "resident_on", host.ref, "domid", ++domids);
        return power(vm, paused ? "Paused" : "Running");
    }

    private Object resume(Obj vm, String operation, Obj host, boolean paused) {
        assertOperation(vm, operation, "suspended");
        dropSuspendImage(vm);
        put(vm.rec, "resident_on", host.ref, "domid", ++domids);
        return power(vm, paused ? "Paused" : "Running");
    }

    private Object transition(Obj vm, String operation, String state, String... allowed) {
        assertOperation(vm, operation, allowed);
        return power(vm, state);
    }

    /**
     * XAPI writes a suspended VM's memory into a VDI of the pool's suspend SR (here the default SR), about its memory's
     * size: a sparse file here, its utilisation the memory's size.
     */
    private void suspendImage(Obj vm) {
        Map<String, Object> record = blank("VDI");
        long memory = (Long) vm.rec.get("memory_static_max");
        put(record, "name_label", "Suspend image", "name_description", "Suspend image", "SR",
                pool.all("pool").get(0).str("default_SR"), "virtual_size", memory,
                "physical_utilisation", memory, "type", "suspend");
        pool.set(vm, "suspend_VDI", createVdi(record, null).ref);
    }

    private void dropSuspendImage(Obj vm) {
        Obj image = pool.getOrNull("VDI", vm.str("suspend_VDI"));
        if (image != null) {
            destroyVdi(image);
        }
        vm.rec.put("suspend_VDI", NULL);
    }

    /** Sets the power state; the guest runs (services answer) only while Running. */
    private Object power(Obj vm, String state) {
        vm.rec.put("power_state", state);
        if (state.equals("Halted") || state.equals("Suspended")) {
            put(vm.rec, "resident_on", NULL, "domid", -1L);
        }
        pool.touch(vm);
        if (!state.equals("Running")) {
            booting.remove(vm.ref);
            guests.silence(vm.ref);
        } else if (!vm.str("guest_metrics").equals(NULL)) {
            listen(vm); // booted before: unpaused or resumed
        } else {
            Object boot = new Object();
            booting.put(vm.ref, boot);
            try {
                agent.schedule(() -> pool.locked(() -> booted(vm, boot)), bootDelay.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                // the simulator is closing
            }
        }
        return "";
    }

    /** As if the guest shut down or crashed (the test API's powerOff). */
    void powerOff(Obj vm) {
        if (!vm.str("power_state").equals("Halted")) {
            power(vm, "Halted");
        }
    }

    /** The guest agent's first report, {@link #bootDelay} after the guest started (if it still runs that boot). */
    private void booted(Obj vm, Object boot) {
        if (!booting.remove(vm.ref, boot)) {
            return;
        }
        Map<String, Object> networks = new LinkedHashMap<>();
        for (String ref : vm.list("VIFs")) {
            String device = pool.get("VIF", ref).str("device");
            String address = vifAddresses.get(ref);
            put(networks, device + "/ip", address, device + "/ipv4/0", address);
        }
        Map<String, Object> record = blank("VM_guest_metrics");
        put(record, "networks", networks, "PV_drivers_detected", true, "last_updated", Pool.datetime(Instant.now()),
                "os_version", new LinkedHashMap<>(Map.of("name", "ServiceFarm simulated guest", "distro", "simulated")));
        pool.set(vm, "guest_metrics", pool.create("VM_guest_metrics", record).ref);
        listen(vm);
    }

    private void listen(Obj vm) {
        List<String> addresses = vm.list("VIFs").stream().map(vifAddresses::get).toList();
        List<Integer> ports = new ArrayList<>();
        for (String port : vm.map("xenstore_data").getOrDefault("vm-data/service-ports", "").split(",")) {
            if (port.strip().matches("\\d{1,5}")) {
                ports.add(Integer.parseInt(port.strip()));
            }
        }
        guests.listen(vm.ref, addresses, ports, vm.str("name_label") + " (" + vm.str("uuid") + ")\n");
    }

    private void dropGuestMetrics(Obj vm) {
        if (!vm.str("guest_metrics").equals(NULL)) {
            pool.destroy(pool.get("VM_guest_metrics", vm.str("guest_metrics")));
            pool.set(vm, "guest_metrics", NULL);
        }
    }

    /** VM.clone as XAPI's: a Halted copy; its disks cloned, its VIFs new (new MACs, new addresses). */
    private Obj cloneVm(Obj vm, String name) {
        assertOperation(vm, "clone", "halted");
        Map<String, Object> record = copy(vm.rec);
        put(record, "name_label", name, "VBDs", new ArrayList<>(), "VIFs", new ArrayList<>(), "guest_metrics", NULL);
        Obj clone = pool.create("VM", record);
        Map<String, String> otherConfig = clone.map("other_config");
        otherConfig.remove("default_template");
        otherConfig.put("mac_seed", UUID.randomUUID().toString());
        if (Boolean.TRUE.equals(vm.rec.get("is_a_template"))) {
            otherConfig.putIfAbsent("base_template_name", vm.str("name_label"));
        }
        for (String ref : vm.list("VBDs")) {
            Map<String, Object> vbd = copy(pool.get("VBD", ref).rec);
            Obj vdi = pool.getOrNull("VDI", (String) vbd.get("VDI"));
            if (vdi != null) {
                Map<String, Object> disk = copy(vdi.rec);
                disk.put("VBDs", new ArrayList<>());
                vbd.put("VDI", createVdi(disk, vdiFiles.get(vdi.ref)).ref);
            }
            put(vbd, "VM", clone.ref, "currently_attached", false);
            createVbd(vbd);
        }
        for (String ref : vm.list("VIFs")) {
            Map<String, Object> vif = copy(pool.get("VIF", ref).rec);
            put(vif, "VM", clone.ref, "MAC", Boolean.TRUE.equals(vif.get("MAC_autogenerated")) ? "" : vif.get("MAC"));
            createVif(vif);
        }
        return clone;
    }

    /** A VDI; its content a new empty (sparse) file, or {@code content}, a file it shares with the VDI cloned. */
    private Obj createVdi(Map<String, Object> record, Path content) {
        Obj sr = pool.get("SR", (String) record.get("SR"));
        Obj vdi = pool.create("VDI", record);
        vdi.rec.put("location", vdi.str("uuid"));
        if (content == null) {
            content = dataDir.resolve(vdi.str("uuid") + ".raw");
            try (RandomAccessFile file = new RandomAccessFile(content.toFile(), "rw")) {
                file.setLength((Long) vdi.rec.get("virtual_size"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        vdiFiles.put(vdi.ref, content);
        sr.list("VDIs").add(vdi.ref);
        updateUtilisation(sr);
        return vdi;
    }

    /** Removes a VDI no VBD uses from its SR, and its file unless a clone still shares it. */
    private void destroyVdi(Obj vdi) {
        Obj sr = pool.get("SR", vdi.str("SR"));
        sr.list("VDIs").remove(vdi.ref);
        pool.destroy(vdi);
        release(vdiFiles.remove(vdi.ref));
        updateUtilisation(sr);
    }

    private void updateUtilisation(Obj sr) {
        List<Obj> vdis = sr.list("VDIs").stream().map(ref -> pool.get("VDI", ref)).toList();
        put(sr.rec, "physical_utilisation", vdis.stream().mapToLong(v -> (Long) v.rec.get("physical_utilisation")).sum(),
                "virtual_allocation", vdis.stream().mapToLong(v -> (Long) v.rec.get("virtual_size")).sum());
        pool.touch(sr);
    }

    /** Deletes a VDI's file unless another VDI still shares it. */
    private void release(Path file) {
        if (file != null && !vdiFiles.containsValue(file)) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private Obj createVbd(Map<String, Object> record) {
        Obj vm = pool.get("VM", (String) record.get("VM"));
        Obj vdi = pool.getOrNull("VDI", (String) record.get("VDI")); // an empty CD drive has none
        for (String ref : vm.list("VBDs")) {
            if (pool.get("VBD", ref).str("userdevice").equals(record.get("userdevice"))) {
                throw new XapiException("DEVICE_ALREADY_EXISTS", (String) record.get("userdevice"));
            }
        }
        Obj vbd = pool.create("VBD", record);
        vm.list("VBDs").add(vbd.ref);
        pool.touch(vm);
        if (vdi != null) {
            vdi.list("VBDs").add(vbd.ref);
            pool.touch(vdi);
        }
        return vbd;
    }

    private void destroyVbd(Obj vbd) {
        Obj vm = pool.get("VM", vbd.str("VM"));
        vm.list("VBDs").remove(vbd.ref);
        pool.touch(vm);
        Obj vdi = pool.getOrNull("VDI", vbd.str("VDI"));
        if (vdi != null) {
            vdi.list("VBDs").remove(vbd.ref);
            pool.touch(vdi);
        }
        pool.destroy(vbd);
    }

    /** A VIF, with a loopback address of its own for its life: 127.77.n/250.n%250+2. */
    private Obj createVif(Map<String, Object> record) {
        Obj vm = pool.get("VM", (String) record.get("VM"));
        Obj network = pool.get("network", (String) record.get("network"));
        for (String ref : vm.list("VIFs")) {
            if (pool.get("VIF", ref).str("device").equals(record.get("device"))) {
                throw new XapiException("DEVICE_ALREADY_EXISTS", (String) record.get("device"));
            }
        }
        int n = vifs++;
        if (((String) record.get("MAC")).isEmpty()) {
            put(record, "MAC", String.format("c2:77:%02x:%02x:%02x:%02x", n >> 24 & 255, n >> 16 & 255, n >> 8 & 255,
                    n & 255), "MAC_autogenerated", true);
        }
        Obj vif = pool.create("VIF", record);
        vifAddresses.put(vif.ref, "127.77." + n / 250 + "." + (n % 250 + 2));
        vm.list("VIFs").add(vif.ref);
        pool.touch(vm);
        network.list("VIFs").add(vif.ref);
        pool.touch(network);
        return vif;
    }

    /**
     * PUT /import_raw_vdi: the body becomes the VDI's content, zero-filled to its virtual size; the HTTP status.
     * Read outside the lock (it may be large), into a file of its own: a clone sharing the old one keeps it.
     */
    int importRaw(String session, String vdiRef, String format, InputStream body) throws IOException {
        long size;
        String uuid;
        pool.lock.lock();
        try {
            if (!pool.validSession(session)) {
                return 401;
            }
            Obj vdi = pool.find("VDI", vdiRef);
            if (vdi == null) {
                return 404;
            }
            if (!"raw".equals(format)) {
                return 400;
            }
            size = (Long) vdi.rec.get("virtual_size");
            uuid = vdi.str("uuid");
        } finally {
            pool.lock.unlock();
        }
        Path file = Files.createTempFile(dataDir, uuid + "-", ".raw");
        long received = 0;
        boolean kept = false;
        try {
            try (OutputStream out = Files.newOutputStream(file)) {
                byte[] buffer = new byte[65536];
                for (int n; (n = body.read(buffer)) >= 0; received += n) {
                    out.write(buffer, 0, (int) Math.max(0, Math.min(n, size - received)));
                }
            }
            if (received > size) {
                return 400;
            }
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(size);
            }
            pool.lock.lock();
            try {
                Obj vdi = pool.find("VDI", vdiRef);
                if (vdi == null) {
                    return 404;
                }
                release(vdiFiles.put(vdi.ref, file));
                kept = true;
                pool.set(vdi, "physical_utilisation", received);
                updateUtilisation(pool.get("SR", vdi.str("SR")));
                return 200;
            } finally {
                pool.lock.unlock();
            }
        } finally {
            if (!kept) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** A VDI of {@code bytes} in the pool's storage, as another tool (or an older appliance) would leave one. */
    String addVdi(String nameLabel, Map<String, String> otherConfig, long bytes) {
        return pool.locked(() -> {
            Map<String, Object> record = blank("VDI");
            record.putAll(Map.of("name_label", nameLabel, "SR", pool.all("SR").get(0).ref, "virtual_size", bytes,
                    "physical_utilisation", bytes, // written full, as a disk in use would be
                    "other_config", new LinkedHashMap<String, Object>(otherConfig)));
            return createVdi(record, null).str("uuid");
        });
    }

    /** The uuids of the VDIs in the pool's storage. */
    java.util.Set<String> vdiUuids() {
        return pool.locked(() -> pool.all("VDI").stream().map(v -> v.str("uuid"))
                .collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new)));
    }

    /** The records (copies) of the VDIs in the pool's storage. */
    List<Map<String, Object>> vdis() {
        return pool.locked(() -> pool.all("VDI").stream().map(v -> copy(v.rec)).toList());
    }

    /** Gives the pool's storage another physical size, as a smaller or fuller disk would; its record's copy. */
    Map<String, Object> resizeStorage(long bytes) {
        return pool.locked(() -> {
            Obj sr = pool.all("SR").get(0);
            put(sr.rec, "physical_size", bytes);
            pool.touch(sr);
            return copy(sr.rec);
        });
    }

    /** The pool's storage record (a copy): its physical size and utilisation. */
    Map<String, Object> storage() {
        return pool.locked(() -> copy(pool.all("SR").get(0).rec));
    }

    /** The file holding the VDI {@code uuid}'s bytes (where it would be, once destroyed). */
    Path vdiFile(String uuid) {
        return pool.locked(() -> pool.all("VDI").stream().filter(v -> v.str("uuid").equals(uuid)).findFirst()
                .map(v -> vdiFiles.get(v.ref)).orElse(dataDir.resolve(uuid + ".raw")));
    }
}
