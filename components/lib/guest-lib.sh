# Helpers for components/try-guest (sourced): libvirt domain XML for a composed image, define,
# start, wait for HTTP, remove. The XML is the reference for the Java libvirt driver.

URI="${SF_LIBVIRT_URI:-qemu:///system}"
SF_NS="https://servicefarm.org/xmlns/vm/1"

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e "s/'/\&apos;/g" -e 's/"/\&quot;/g' <<<"$1"; }

# domain_xml NAME IMAGE_DIR MEM_MIB HOSTPORT:GUESTPORT... -> the domain XML on stdout
# The user-mode network is restrict=on (the guest reaches nothing outside, not even 10.0.2.2, the
# host's loopback; the forwards still come in), as the Java driver writes it; SF_NET_RESTRICT=off
# leaves it out (only for the check that shows the difference).
domain_xml() {
    local name="$1" dir="$2" mem="$3"; shift 3
    local fwd="" map host guest ports_meta=""
    [ "${SF_NET_RESTRICT:-on}" = off ] || fwd=",restrict=on"
    for map in "$@"; do
        host="${map%%:*}"; guest="${map##*:}"
        fwd="$fwd,hostfwd=tcp:127.0.0.1:$host-:$guest"
        ports_meta="$ports_meta<sf:forward host='127.0.0.1' hostPort='$host' guestPort='$guest'/>"
    done
    local cmdline key
    cmdline="$(jq -r .cmdline "$dir/image.json")"
    key="$(jq -r .key "$dir/image.json")"
    local disk=""
    if [ -e "$dir/disk" ]; then
        disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$dir/disk'/><target dev='vda' bus='virtio'/><readonly/><shareable/></disk>"
    fi
    cat <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$(xml_escape "$name")</name>
  <metadata>
    <sf:vm xmlns:sf='$SF_NS'>
      <sf:image key='$key'/>
      $(jq -r '.components[] | "<sf:component id=\"" + . + "\"/>"' "$dir/image.json" | tr -d '\n')
      $ports_meta
    </sf:vm>
  </metadata>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$dir/kernel</kernel>
    <initrd>$dir/initrd</initrd>
    <cmdline>$(xml_escape "$cmdline")</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    $disk
    <serial type='pty'><log file='/var/log/libvirt/qemu/$(xml_escape "$name")-serial.log' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
  <seclabel type='static' model='dac' relabel='no'><label>libvirt-qemu:libvirt-qemu</label></seclabel>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=sfnet0$fwd'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=sfnet0,bus=pci.0,addr=0x10'/>
  </qemu:commandline>
</domain>
EOF
}

# wait_http URL TIMEOUT_S -> 0 once URL answers 200 (prints the seconds waited)
wait_http() {
    local url="$1" timeout="$2" start now
    start=$(date +%s.%N)
    while :; do
        # QEMU's user-mode stack accepts the host side of a forwarded connection at once and
        # holds it until the guest answers: a long curl timeout would quantize the measured
        # time. Short tries while booting (first 60 s), patient ones after.
        local m=0.4
        awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a > 60) }' && m=5
        if [ "$(curl -s -o /dev/null -m "$m" -w '%{http_code}' "$url" 2>/dev/null)" = 200 ]; then
            awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }'
            return 0
        fi
        now=$(date +%s.%N)
        if awk -v a="$start" -v b="$now" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then return 1; fi
        sleep 0.1
    done
}

remove_domain() {
    local name="$1"
    virsh -c "$URI" destroy "$name" >/dev/null 2>&1 || true
    virsh -c "$URI" undefine "$name" >/dev/null 2>&1 || true
}

# qemu_pid NAME -> the guest's QEMU process id
qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }
