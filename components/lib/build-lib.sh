# Helpers for components/build (sourced). A recipe (src/<kind>/<name>/recipe) is sourced in a
# subshell with these functions; it sets KIND NAME VERSION PROVIDES NEEDS and defines
# build_layer (fills $STAGE) and, optionally, build_extra (adds kernel/disk artifacts).
#
# Conventions inside every layer: the usr-merged layout of Debian 12 (bin, sbin, lib, lib64 are
# symlinks into usr/, made by the OS layers); ServiceFarm's own files live under usr/lib/sf and
# etc/sf; everything is owned by root, mtimes are set to $SF_EPOCH, so a layer's sha256 depends
# only on its content.

SF_EPOCH=1700000000
ARCH_TRIPLET=x86_64-linux-gnu

log() { printf '[%s] %s\n' "${COMPONENT_ID:-build}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- Debian packages -------------------------------------------------------------------------

# apt_memo CMD ARGS...: runs an apt-cache query once per state of apt's package lists (a cached
# build makes no apt-cache call: they cost 0.2-0.5 s each here).
APT_STATE="$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null | sha256sum | cut -c1-16)"
apt_memo() {
    local f; f="$CACHE/apt-memo/$APT_STATE/$(printf '%s\n' "$@" | sha256sum | cut -c1-32)"
    if [ ! -f "$f" ]; then
        mkdir -p "$(dirname "$f")"
        "$@" > "$f.tmp" 2>/dev/null || true
        mv "$f.tmp" "$f"
    fi
    cat "$f"
}

# deb_info PKG... -> lines "name version filename" for the candidate versions (one apt-cache call).
deb_info() {
    apt_memo apt-cache show --no-all-versions "$@" | awk '
        /^Package: /  { p = $2 }
        /^Version: /  { v = $2 }
        /^Architecture: / { arch = $2 }
        /^Filename: / { f = v; sub(/:/, "%3a", f); print p, v, p "_" f "_" arch ".deb" }'
}

# deb_closure PKG... -> the package names in the Depends/Pre-Depends closure (real packages only).
deb_closure() {
    apt_memo apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "$@" | grep -E '^[a-z0-9]' | sort -u
}

# deb_fetch PKG... -> path of each package's .deb in $CACHE/debs (downloaded once).
deb_fetch() {
    mkdir -p "$CACHE/debs"
    local name version file missing=()
    while read -r name version file; do
        if [ ! -s "$CACHE/debs/$file" ]; then
            if [ -s "/var/cache/apt/archives/$file" ]; then
                cp "/var/cache/apt/archives/$file" "$CACHE/debs/$file"
            else
                missing+=("$name=$version")
            fi
        fi
        echo "$CACHE/debs/$file"
    done < <(deb_info "$@")
    if [ "${#missing[@]}" -gt 0 ]; then
        log "downloading ${missing[*]}"
        (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null) || die "apt-get download failed"
    fi
}

# deb_x DEB -> a directory holding the package's files (extracted once, cached).
deb_x() {
    local deb="$1" dir
    dir="$CACHE/x/$(basename "$deb" .deb)"
    [ -s "$deb" ] || die "missing $deb"
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir.tmp"
        dpkg-deb -x "$deb" "$dir.tmp"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# take_pkgs PKG... : copy the packages' files (without documentation) into $STAGE.
take_pkgs() {
    local deb dir
    for deb in $(deb_fetch "$@"); do
        dir="$(deb_x "$deb")"
        (cd "$dir" && tar --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/info \
            --exclude=./usr/share/lintian --exclude=./usr/share/bug -cf - .) | tar -C "$STAGE" -xf -
    done
    usrmerge "$STAGE"
}

# make_sysroot PKG... : $SYSROOT gets every package of the closure (to resolve shared libraries).
make_sysroot() {
    SYSROOT="$WORK/sysroot"
    mkdir -p "$SYSROOT"
    local deb
    for deb in $(deb_fetch $(deb_closure "$@")); do
        cp -a "$(deb_x "$deb")/." "$SYSROOT/"
    done
    usrmerge "$SYSROOT"
}

# usrmerge DIR: move bin, sbin, lib, lib64 into usr/ (Debian 12 packages still ship some there).
usrmerge() {
    local root="$1" d
    for d in bin sbin lib lib64; do
        if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
            mkdir -p "$root/usr/$d"
            cp -a "$root/$d/." "$root/usr/$d/"
            rm -rf "${root:?}/$d"
        fi
    done
}

# glibc_files -> the paths (relative, usr-merged) that the glibc component provides; servers and
# runtimes never copy these, they need abi:glibc-2.36 instead.
glibc_files() {
    local deb
    for deb in $(deb_fetch libc6 libgcc-s1 libcrypt1); do
        (cd "$(deb_x "$deb")" && find . \( -type f -o -type l \) -name '*.so*' | sed 's#^\./##; s#^lib/#usr/lib/#; s#^lib64/#usr/lib64/#')
    done | sort -u
}

# add_elf_closure: copy into $STAGE the shared libraries (found in $SYSROOT) that the ELF files in
# $STAGE need, except glibc's own (provided by the OS or the glibc component).
add_elf_closure() {
    local libpath="$SYSROOT/usr/lib/$ARCH_TRIPLET:$SYSROOT/usr/lib"
    local loader="$SYSROOT/usr/lib64/ld-linux-x86-64.so.2"
    [ -x "$loader" ] || loader="$(deb_x "$(deb_fetch libc6)")/lib64/ld-linux-x86-64.so.2"
    local provided; provided="$(glibc_files)"
    local f lib rel round
    for round in 1 2; do
        while IFS= read -r f; do
            "$loader" --library-path "$libpath" --list "$f" 2>/dev/null | awk '/=> \// { print $3 }'
        done < <(find "$STAGE" -type f \( -perm -u+x -o -name '*.so*' \) -exec sh -c 'head -c4 "$1" | grep -q ELF' _ {} \; -print) |
        sort -u | while IFS= read -r lib; do
            case "$lib" in "$SYSROOT"/*) ;; *) continue ;; esac
            rel="${lib#"$SYSROOT"/}"
            if grep -qxF "$rel" <<<"$provided"; then continue; fi
            if [ ! -e "$STAGE/$rel" ]; then
                mkdir -p "$STAGE/$(dirname "$rel")"
                cp -aL "$lib" "$STAGE/$rel"
            fi
        done
    done
}

# --- layers, artifacts, manifests ------------------------------------------------------------

# pack_layer DIR -> path of a gzip'd newc cpio of DIR (root-owned, fixed mtimes, sorted).
pack_layer() {
    local dir="$1" out="$WORK/layer.cpio.gz"
    find "$dir" -exec touch -h -d "@$SF_EPOCH" {} +
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -6 > "$out"
    echo "$out"
}

# add_artifact ROLE FILE [key=value-json...] : store FILE as blobs/sha256/<hex>; record it.
add_artifact() {
    local role="$1" file="$2"; shift 2
    local sum size
    sum="$(sha256sum "$file" | cut -d' ' -f1)"
    size="$(stat -c %s "$file")"
    mkdir -p "$OUT/blobs/sha256"
    if [ ! -e "$OUT/blobs/sha256/$sum" ]; then
        cp "$file" "$OUT/blobs/sha256/$sum.tmp"
        chmod 0644 "$OUT/blobs/sha256/$sum.tmp"
        mv "$OUT/blobs/sha256/$sum.tmp" "$OUT/blobs/sha256/$sum"
    fi
    local extra="{}" kv
    for kv in "$@"; do extra="$(jq -c --argjson e "$extra" -n "\$e + {${kv}}")"; done
    jq -c -n --arg role "$role" --arg sha "$sum" --argjson size "$size" --argjson extra "$extra" \
        '{role: $role, sha256: $sha, size: $size} + $extra' >> "$WORK/artifacts.jsonl"
}

# json_list WORD... -> a JSON array of strings
json_list() { if [ $# -eq 0 ]; then echo '[]'; else printf '%s\n' "$@" | jq -R . | jq -s -c .; fi; }

# --- shared by the OS recipes ----------------------------------------------------------------

# kernel_pkg -> the Debian kernel package that linux-image-amd64 points at
kernel_pkg() { apt_memo apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }'; }

# os_common_layer MODULE...: busybox (Debian's busybox-static) at usr/lib/sf/bin with its applets,
# ServiceFarm's init scripts, the kernel modules named (and their dependencies, in load order)
# under usr/lib/modules/<kver>/ with the order in etc/sf/modules.
os_common_layer() {
    local bbdir kdir kver
    bbdir="$(deb_x "$(deb_fetch busybox-static)")"
    install -D -m 0755 "$bbdir/bin/busybox" "$STAGE/usr/lib/sf/bin/busybox"
    local applet
    for applet in $("$bbdir/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$STAGE/usr/lib/sf/bin/$applet"
    done
    cp -a "$HERE/src/os/_common/files/." "$STAGE/"
    kdir="$(deb_x "$(deb_fetch "$(kernel_pkg)")")"
    kver="$(ls "$kdir/lib/modules")"
    KVER="$kver"
    local order="$WORK/modules.order"; : > "$order"
    local m
    for m in "$@"; do module_with_deps "$kdir/lib/modules/$kver" "$m" "$order"; done
    while read -r m; do
        install -D -m 0644 "$kdir/lib/modules/$kver/$m" "$STAGE/usr/lib/modules/$kver/$m"
    done < "$order"
    mkdir -p "$STAGE/etc/sf"
    cp "$order" "$STAGE/etc/sf/modules"
    mkdir -p "$STAGE"/{dev,proc,sys,run,tmp,root,srv/sf/apps,var/log/sf,etc/sf/services}
    chmod 1777 "$STAGE/tmp"
}

# module_with_deps MODDIR NAME ORDERFILE: append NAME's dependencies, then NAME (once each).
module_with_deps() {
    local dir="$1" name="$2" order="$3" file dep
    file="$(cd "$dir" && find kernel -name "${name}.ko" -o -name "${name//_/-}.ko" | head -1)"
    [ -n "$file" ] || { log "module $name: built in or absent"; return 0; }
    grep -qxF "$file" "$order" && return 0
    for dep in $(/sbin/modinfo -F depends "$dir/$file" | tr ',' ' '); do
        module_with_deps "$dir" "$dep" "$order"
    done
    grep -qxF "$file" "$order" || echo "$file" >> "$order"
}

# kernel_artifact: the Debian kernel image, as the component's 'kernel' artifact.
kernel_artifact() {
    local kpkg kdir
    kpkg="$(kernel_pkg)"
    kdir="$(deb_x "$(deb_fetch "$kpkg")")"
    add_artifact kernel "$(ls "$kdir"/boot/vmlinuz-*)" "\"debianPackage\": \"$kpkg\"" \
        "\"cmdline\": \"console=ttyS0 quiet panic=5 rootfstype=ramfs\""
}

# app_layer: the recipe directory's files/ tree becomes /srv/sf/apps/<name>-<version>/.
app_layer() {
    mkdir -p "$STAGE/srv/sf/apps/$NAME-$VERSION"
    cp -a "$SRC/files/." "$STAGE/srv/sf/apps/$NAME-$VERSION/"
    find "$STAGE/srv" -type d -exec chmod 0755 {} + ; find "$STAGE/srv" -type f -exec chmod 0644 {} +
}

# debian_layer PKG...: the packages' own files (documentation, init-system and cron files
# dropped) plus the shared libraries their ELF files need from the rest of their dependency
# closure (glibc excepted), then the recipe's files/ tree (start script, config templates).
debian_layer() {
    make_sysroot "$@"
    take_pkgs "$@"
    rm -rf "$STAGE"/etc/init.d "$STAGE"/etc/logrotate.d "$STAGE"/etc/cron.d "$STAGE"/etc/cron.daily \
        "$STAGE"/usr/lib/systemd "$STAGE"/etc/systemd "$STAGE"/usr/share/apport "$STAGE"/etc/ufw \
        "$STAGE"/usr/lib/tmpfiles.d "$STAGE"/etc/apparmor.d "$STAGE"/usr/lib/sysusers.d "$STAGE"/usr/share/vim
    if declare -F prune_stage >/dev/null; then prune_stage; fi
    add_elf_closure
    [ ! -d "$SRC/files" ] || cp -a "$SRC/files/." "$STAGE/"
}

# deb_upstream PKG -> the package's version without epoch
deb_version() { deb_info "$1" | awk '{ print $2 }' | sed 's/^[0-9]*://'; }
