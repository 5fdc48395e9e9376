# The benchmarks' settings are environment variables (sourced by run-placement, run-store, run-warm-grants). Each is
# checked before anything is built or started, so a mistyped value is one line naming the variable and what it takes
# (exit 2), not a stack trace a minute later or a run with something else. Each prints the value, or the default when
# the variable is unset or empty.

# setting_whole NAME DEFAULT MIN MAX: a whole number from MIN to MAX
setting_whole() {
    local name=$1 value=${!1:-$2} min=$3 max=$4
    if [[ ! $value =~ ^[0-9]{1,9}$ ]] || ((10#$value < min || 10#$value > max)); then
        printf '%s must be a whole number from %s to %s, not "%s"\n' "$name" "$min" "$max" "$value" >&2
        return 2
    fi
    echo $((10#$value))
}

# setting_wholes NAME DEFAULT MIN MAX: whole numbers from MIN to MAX, separated by commas
setting_wholes() {
    local name=$1 value=${!1:-$2} min=$3 max=$4 one ok=true
    if [[ $value =~ ^[0-9]{1,9}(,[0-9]{1,9})*$ ]]; then
        local IFS=,
        for one in $value; do
            ((10#$one >= min && 10#$one <= max)) || ok=false
        done
    else
        ok=false
    fi
    if ! $ok; then
        printf '%s must be whole numbers from %s to %s separated by commas, not "%s"\n' "$name" "$min" "$max" "$value" >&2
        return 2
    fi
    echo "$value"
}

# setting_one_of NAME DEFAULT CHOICE...: one of the choices
setting_one_of() {
    local name=$1 value=${!1:-$2} choice
    shift 2
    for choice in "$@"; do
        [[ $value == "$choice" ]] && { echo "$value"; return 0; }
    done
    printf '%s must be one of %s, not "%s"\n' "$name" "$*" "$value" >&2
    return 2
}

# setting_some_of NAME DEFAULT CHOICE...: one or more of the choices, each once, separated by commas
setting_some_of() {
    local name=$1 value=${!1:-$2}
    shift 2
    local choices="$*" one seen=, ok=true
    if [[ $value =~ ^[^,]+(,[^,]+)*$ ]]; then
        local IFS=,
        for one in $value; do
            [[ " $choices " == *" $one "* && $seen != *",$one,"* ]] || ok=false
            seen+="$one,"
        done
    else
        ok=false
    fi
    if ! $ok; then
        printf '%s must be some of %s, each once, separated by commas, not "%s"\n' "$name" "$choices" "$value" >&2
        return 2
    fi
    echo "$value"
}

# setting_duration NAME DEFAULT: a duration as wrk takes it, a whole number of seconds, minutes or hours (20s, 2m, 1h)
setting_duration() {
    local name=$1 value=${!1:-$2}
    if [[ ! $value =~ ^[1-9][0-9]{0,5}[smh]$ ]]; then
        printf '%s must be a duration such as 20s, 2m or 1h, not "%s"\n' "$name" "$value" >&2
        return 2
    fi
    echo "$value"
}
