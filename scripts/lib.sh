# Shared by scripts/run, scripts/serve and scripts/test (sourced, not run).

# Installs the Debian packages named as arguments that are not installed yet (apt-get update first).
ensure_packages() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    echo "Installing missing Debian packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "Not root and no sudo: install ${missing[*]} and run again." >&2
            exit 1
        fi
        sudo="sudo"
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Karaf 4.4 is built and run on Java 17 (its SSH shell breaks on newer JDKs): prefer it when several are installed.
use_java17() {
    local jdk
    for jdk in /usr/lib/jvm/java-17-openjdk-*; do
        if [ -x "$jdk/bin/javac" ]; then
            export JAVA_HOME="$jdk"
            export PATH="$JAVA_HOME/bin:$PATH"
            return 0
        fi
    done
    echo "No JDK 17 under /usr/lib/jvm (openjdk-17-jdk-headless)." >&2
    exit 1
}
