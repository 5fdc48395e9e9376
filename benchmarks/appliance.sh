# A benchmark's own copy of the assembled appliance, on ports of its own (sourced by run-warm-grants and
# run-overload). Sets appliance_pid while a copy it started runs; log() and die() are the caller's.

appliance_pid=""

# appliance_http_status URL [curl args...] -> the HTTP status, 000 if nothing answers
appliance_http_status() { local u=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$u" || true; }

# appliance_copy ASSEMBLY DIR PORT: DIR becomes a fresh copy of ASSEMBLY with HTTP on PORT, ssh on PORT+1 and RMI on
# PORT+2 and PORT+3, so that it neither clashes with nor talks to another Karaf on this machine
appliance_copy() {
    local assembly=$1 dir=$2 port=$3
    [[ -x $assembly/bin/karaf ]] || die "no assembled appliance at $assembly: build it first (mvn -q package -DskipTests)"
    log "copying the appliance to $dir (ports: http $port, ssh $((port + 1)), rmi $((port + 2))/$((port + 3)))"
    rm -rf "$dir"
    cp -a "$assembly" "$dir"
    sed -i -E "s/^(org\.osgi\.service\.http\.port) *=.*/\1 = $port/" "$dir/etc/org.ops4j.pax.web.cfg"
    sed -i -E "s/^(sshPort) *=.*/\1 = $((port + 1))/" "$dir/etc/org.apache.karaf.shell.cfg"
    sed -i -E "s/^(rmiRegistryPort) *=.*/\1 = $((port + 2))/; s/^(rmiServerPort) *=.*/\1 = $((port + 3))/" \
        "$dir/etc/org.apache.karaf.management.cfg"
}

# appliance_start DIR URL LOGIN CONSOLE_LOG: starts the copy in DIR in a process group of its own and waits until its
# REST API answers at URL
appliance_start() {
    local dir=$1 url=$2 login=$3 console=$4 started=$SECONDS
    log "starting the appliance"
    setsid "$dir/bin/karaf" server >"$console" 2>&1 </dev/null &
    appliance_pid=$!
    until [[ $(appliance_http_status "$url/api/v1/vms" -u "$login") == 200 ]]; do
        kill -0 "$appliance_pid" 2>/dev/null || die "the appliance exited; see $console and $dir/data/log/karaf.log"
        ((SECONDS - started < 180)) || die "the REST API did not answer within 180 s; see $dir/data/log/karaf.log"
        sleep 0.5
    done
    log "REST API up after $((SECONDS - started)) s"
}

# appliance_stop DIR: stops the copy appliance_start started, if it runs
appliance_stop() {
    local dir=$1
    if [[ -n $appliance_pid ]] && kill -0 "$appliance_pid" 2>/dev/null; then
        log "stopping the appliance this run started (pid $appliance_pid)"
        "$dir/bin/stop" >/dev/null 2>&1 || true
        for _ in $(seq 60); do kill -0 "$appliance_pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$appliance_pid" 2>/dev/null; then
            # its own process group (setsid): the launcher script and its JVM go together
            kill -TERM -- "-$appliance_pid" 2>/dev/null || true
            sleep 5
            kill -KILL -- "-$appliance_pid" 2>/dev/null || true
        fi
    fi
    appliance_pid=""
}
