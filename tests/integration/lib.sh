# tests/integration/lib.sh: the one test library: VM configs, starting and stopping VMs, verdicts.
# Sourced by every suite and by bench/boot and bench/devices. A suite prints its plan line, then one
# TAP-style line per case: "ok - NAME", "not ok - NAME: why" or "ok - NAME # SKIP why" (skipped:
# tests/integration/run counts it apart, never as passed).
# shellcheck shell=bash disable=SC2034 # the settings and results are for the sourcing script

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bulwark=${BULWARK_BIN:-$repo/build/bulwark}
kernel=$repo/.cache/guest-kernel/vmlinuz
test_initrd=$repo/.cache/guest/test-initrd.cpio.gz
base_cmdline="console=ttyS0 reboot=k panic=-1 pci=off"
boot_timeout=${BULWARK_BOOT_TIMEOUT:-180}
# What the emulated host needs of the cases (retries, CPU counts) lives with it: emu_* below.
# shellcheck source=tests/emuhost/lib
source "$repo/tests/emuhost/lib"

# Scratch for configs and consoles; at_exit CMD adds cleanup run before it goes.
work=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-it.XXXXXX")
at_exit_cmds=()
at_exit() { at_exit_cmds+=("$*"); }
# shellcheck disable=SC2317 # run by the EXIT trap
lib_exit() {
    local c
    for c in "${at_exit_cmds[@]}"; do eval "$c"; done
    [[ -n ${BULWARK_KEEP_WORK:-} ]] || rm -rf "$work"
}
trap lib_exit EXIT

# ---- verdicts --------------------------------------------------------------------------------
passed=0 failed=0 skipped=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
skip() { echo "ok - $1 # SKIP $2"; skipped=$((skipped + 1)); }
# not_ok NAME WHY [FILE]: a failed case; FILE's last lines follow, so a CI log explains it alone.
not_ok() {
    echo "not ok - $1: $2"
    failed=$((failed + 1))
    if [[ -n ${3:-} && -f $3 ]]; then
        echo "# --- last lines of $3"
        tail -n 25 "$3" | sed 's/^/#   /'
    fi
}
# check NAME STATUS WHY [FILE]: one case from the exit status of the test before it.
check() { if [[ $2 == 0 ]]; then ok "$1"; else not_ok "$1" "$3" "${4:-}"; fi; }
# summary: the last line of a suite; its status too (a suite run alone fails when a case did).
summary() {
    echo "# $passed passed, $failed failed$( ((skipped)) && echo ", $skipped skipped")"
    ((failed == 0))
}

# need_guest: a suite that boots or names the test guest stops at once, saying how to make it,
# when bulwark or the guest's files are missing (a fresh clone before scripts/build-guest).
need_guest() {
    local f
    for f in "$bulwark" "$kernel" "$test_initrd"; do
        [[ -e $f ]] && continue
        echo "Bail out! $f is missing: meson setup build && ninja -C build; scripts/build-guest"
        exit 1
    done
}

# ---- a VM's description and its config ---------------------------------------------------------
# vm_reset: the defaults. vm_disks: "PATH|RO(0/1)|SERIAL"; vm_nics: "TAP|MAC|SEGMENT|IPV4|LL6".
# An empty vm_vcpus, vm_mem, vm_initrd, vm_policy or vm_shutdown (shutdown_timeout) leaves that key
# out of the config.
vm_reset() {
    vm_vcpus=1 vm_mem=256MiB vm_kernel=$kernel vm_initrd=$test_initrd vm_cmdline=$base_cmdline
    vm_policy=$repo/tests/integration/policy-test.yaml vm_disks=() vm_nics=() vm_rng=0
    vm_bulwark=$bulwark vm_dir=$work vm_ns="" vm_shutdown=""
}
vm_reset

# vm_config NAME [KEY=VALUE | disk=SPEC | nic=SPEC]...: writes $vm_dir/NAME.yaml from the vm_*
# settings (KEY=VALUE sets vm_KEY for this config only), prints its path. Call it as $(...).
vm_config() {
    local name=$1 a d n path ro serial tap mac segment ipv4 ll6
    shift
    for a; do
        case $a in
            disk=*) vm_disks+=("${a#disk=}") ;;
            nic=*) vm_nics+=("${a#nic=}") ;;
            *) printf -v "vm_${a%%=*}" '%s' "${a#*=}" ;;
        esac
    done
    # The cmdline in YAML's double quotes: its own double quotes and backslashes escaped.
    a=${vm_cmdline//\\/\\\\}
    {
        echo "name: $name"
        [[ -n $vm_vcpus ]] && echo "vcpus: $vm_vcpus"
        [[ -n $vm_mem ]] && echo "memory: $vm_mem"
        echo "kernel: $vm_kernel"
        [[ -n $vm_initrd ]] && echo "initrd: $vm_initrd"
        echo "cmdline: \"${a//\"/\\\"}\""
        [[ -n $vm_policy ]] && echo "policy: $vm_policy"
        [[ -n $vm_shutdown ]] && echo "shutdown_timeout: $vm_shutdown"
        ((${#vm_disks[@]})) && echo "disks:"
        for d in "${vm_disks[@]}"; do
            IFS='|' read -r path ro serial <<<"$d"
            echo "  - path: $path"
            ((ro)) && echo "    read_only: true"
            [[ -n $serial ]] && echo "    serial: \"$serial\""
        done
        ((${#vm_nics[@]})) && echo "nics:"
        for n in "${vm_nics[@]}"; do
            IFS='|' read -r tap mac segment ipv4 ll6 <<<"$n"
            echo "  - tap: $tap"
            [[ -n $mac ]] && echo "    mac: \"$mac\""
            [[ -n $segment ]] && echo "    segment: $segment"
            [[ -n $ipv4 ]] && echo "    ipv4: $ipv4"
            [[ -n $ll6 ]] && echo "    ipv6_link_local: \"$ll6\""
        done
        ((vm_rng)) && echo "rng: true"
    } >"$vm_dir/$name.yaml"
    echo "$vm_dir/$name.yaml"
}

# vm_command VMM NAME: sets vm_cmd to boot the VM with bulwark (writing its config) or with QEMU
# microvm as bench/boot runs it, plus virtio-mmio version 2 (QEMU defaults to the legacy one).
vm_command() {
    local d n path ro serial tap mac i=0 bios=() roopt
    if [[ $1 == bulwark ]]; then
        vm_cmd=("$vm_bulwark" run "$(vm_config "$2")")
        return 0
    fi
    [[ -f /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom)
    vm_cmd=(qemu-system-x86_64 -M "${BULWARK_QEMU_MACHINE:-microvm,acpi=on}" -accel kvm -cpu host
        -m "${vm_mem/iB/}" -smp "$vm_vcpus" -nodefaults -no-user-config -nographic -serial stdio
        -no-reboot "${bios[@]}" -kernel "$vm_kernel" -initrd "$vm_initrd" -append "$vm_cmdline"
        -global virtio-mmio.force-legacy=false)
    for d in "${vm_disks[@]}"; do
        IFS='|' read -r path ro serial <<<"$d"
        roopt=""
        ((ro)) && roopt=,readonly=on
        vm_cmd+=(-drive "id=disk$i,file=$path,format=raw,if=none$roopt"
            -device "virtio-blk-device,drive=disk$i${serial:+,serial=$serial}")
        i=$((i + 1))
    done
    i=0
    for n in "${vm_nics[@]}"; do
        IFS='|' read -r tap mac _ <<<"$n"
        vm_cmd+=(-netdev "tap,id=net$i,ifname=$tap,script=no,downscript=no"
            -device "virtio-net-device,netdev=net$i${mac:+,mac=$mac}")
        i=$((i + 1))
    done
    ((vm_rng)) && vm_cmd+=(-device virtio-rng-device)
    return 0
}

# ---- running a VM ------------------------------------------------------------------------------
# vm_start NAME [CMD...]: CMD (default vm_cmd) in the background, in network namespace $vm_ns
# when set (ip netns exec execs it: $pid is the VMM); sets pid, out, err.
vm_start() {
    local name=$1
    shift
    (($#)) || set -- "${vm_cmd[@]}"
    out=$work/$name.out err=$work/$name.err
    [[ -n $vm_ns ]] && set -- ip netns exec "$vm_ns" "$@"
    "$@" </dev/null >"$out" 2>"$err" &
    pid=$!
}

# vm_wait PATTERN SECONDS: until the console ($out) matches PATTERN; fails when the VMM ends first
# or after SECONDS.
vm_wait() {
    local i
    for ((i = 0; i < $2; i++)); do
        grep -q -- "$1" "$out" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 1
    done
    return 1
}

# vm_stop SECONDS: waits for the VMM to end by itself, SIGKILLs it after SECONDS; sets rc. Its
# stderr is /dev/null: bash's "Killed" job notice is not a test result.
vm_stop() {
    local i
    for ((i = 0; i < $1; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    kill -9 "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
} 2>/dev/null

# run_vm CONFIG TIMEOUT: bulwark run in the foreground, killed after TIMEOUT s (rc 124: a hung
# guest fails, CI does not hang); sets rc, out, err. emu_refault may have it run once more.
run_vm() {
    local try name
    name=$(basename "$1" .yaml)
    for try in 1 2; do
        out=$work/$name.$try.out err=$work/$name.$try.err rc=0
        timeout -k 5 "$2" "$bulwark" run "$1" </dev/null >"$out" 2>"$err" || rc=$?
        ((try == 1)) && emu_refault "$name" "$err" && continue
        break
    done
}

# field NAME: the value the test guest reported as NAME=VALUE between its markers, in $out.
field() {
    sed -n '/^BULWARK-TEST-BEGIN/,/^BULWARK-TEST-END/p' "$out" | tr -d '\r' |
        sed -n "s/^$1=//p" | head -n 1
}

sha() { sha256sum "$@" | cut -d' ' -f1; }

# notify_listen SOCKET FILE: plays systemd's side of sd_notify(3) at SOCKET (a datagram socket):
# each message one line of FILE, its newlines as "|". notify_unlisten stops it.
notify_listen() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")' "$1" "$2" &
    notify_pid=$!
    # python3 may take many seconds to start under emulation.
    for _ in $(seq 1 120); do [[ -S $1 ]] && return 0; sleep 0.5; done
    echo "# notify_listen: $1 never appeared"
    return 1
}
notify_unlisten() {
    sleep 1 # the last datagram may still be in flight to the file
    kill "$notify_pid" 2>/dev/null
    wait "$notify_pid" 2>/dev/null
}

# ---- network namespaces ------------------------------------------------------------------------
# netns_up NS TAP ADDR/LEN: a fresh namespace NS holding tap TAP with the host's address ADDR.
netns_up() {
    netns_down "$1"
    ip netns add "$1" && ip -n "$1" link set lo up && ip -n "$1" tuntap add dev "$2" mode tap &&
        ip -n "$1" addr add "$3" dev "$2" && ip -n "$1" link set "$2" up
}

# in_ns CMD...: CMD in the suite's namespace $ns (`ip netns exec` also gives it that
# namespace's /sys).
# shellcheck disable=SC2154 # the suite sets ns
in_ns() { ip netns exec "$ns" "$@"; }

# netns_down NS: removes NS and everything in it (its tap goes with it).
netns_down() {
    { ip netns pids "$1" | xargs -r kill -9; ip netns del "$1"; } 2>/dev/null || true
}

# net_listen KIB: a fresh namespace $ns with the tap $tap at $host_ip (the suite sets them),
# and the host's side of the guest's two TCP transfers, one connection each: port 5001 receives
# into $work/net-rx.bin, 5002 sends KIB random KiB ($work/net-tx.bin).
# shellcheck disable=SC2154 # the suite sets ns, tap and host_ip
net_listen() {
    rm -f "$work/net-rx.bin" "$work/net-tx.bin"
    head -c "${1}K" /dev/urandom >"$work/net-tx.bin"
    [[ -p $work/never ]] || mkfifo "$work/never"
    netns_up "$ns" "$tap" "$host_ip/24" || echo "# netns_up failed: the network cases will fail"
    ip netns exec "$ns" busybox nc -l -p 5001 <>"$work/never" >"$work/net-rx.bin" 2>/dev/null &
    nc_rx=$!
    ip netns exec "$ns" busybox nc -l -p 5002 <"$work/net-tx.bin" >/dev/null 2>&1 &
    nc_tx=$!
}

# net_unlisten: stops what net_listen started and removes the namespace with its tap.
net_unlisten() {
    kill "$nc_rx" "$nc_tx" 2>/dev/null
    wait "$nc_rx" "$nc_tx" 2>/dev/null
    netns_down "$ns"
    if ip link show "$tap" >/dev/null 2>&1 || ip netns list | grep -qw "$ns"; then
        echo "# warning: namespace $ns or tap $tap still exists after removal"
    fi
}


# ---- benchmarks: bench/boot and bench/devices ----------------------------------------------------
# They set bench (their name) and define report RAW and progress LINE; see bench/README.md.
bench_say() { echo "${bench:-bench}: $*" >&2; }
bench_cannot() { bench_say "cannot run: $*"; exit 1; }
# kv LINE KEY: KEY's value in a line of "KEY=VALUE" words, or nothing.
kv() {
    local re="(^| )$2=([^ ]*)"
    if [[ $1 =~ $re ]]; then echo "${BASH_REMATCH[2]}"; fi
}
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b}'; }

# bench_report_only RAW: prints the table again from RAW, then exits.
bench_report_only() {
    [[ -r $1 ]] || bench_cannot "no raw results file $1"
    report "$1" || bench_cannot "no measurements in $1"
    exit 0
}

# bench_prepare WHAT TARGET...: builds the ninja TARGETs (WHAT names them) and the guest.
bench_prepare() {
    [[ -f $repo/build/build.ninja ]] || bench_cannot "no build/ (run: meson setup build)"
    command -v qemu-system-x86_64 >/dev/null || bench_cannot "qemu-system-x86_64 missing (scripts/install-deps)"
    bench_say "building $1"
    ninja -C "$repo/build" "${@:2}" >&2 || bench_cannot "ninja -C build failed"
    "$repo/scripts/build-guest" >/dev/null || bench_cannot "scripts/build-guest failed"
    mkdir -p "$repo/.cache/bench"
}

# bench_where CONFIG: sets where and emulated: 1 when `bulwark host check CONFIG` fails here or
# BULWARK_EMULATE is set, as with-kvm then runs the loop in the emulated host.
bench_where() {
    if [[ -z ${BULWARK_EMULATE:-} ]] && "$bulwark" host check "$1" >/dev/null 2>&1; then
        where="this machine's /dev/kvm" emulated=0
    else
        where="an emulated host (QEMU TCG, nested KVM): tests/emuhost" emulated=1
    fi
}

# bench_loop RAW WITH-KVM-ARGS...: the measuring loop in one KVM host, its lines appended to RAW
# and shown through progress; a failed host run is said, and what came back is still reported.
bench_loop() {
    local raw=$1 l rc
    shift
    "$repo/tests/emuhost/with-kvm" "$@" | tee -a "$raw" | while IFS= read -r l; do progress "$l"; done
    rc=${PIPESTATUS[0]}
    ((rc == 0)) || bench_say "the KVM host run ended with status $rc; summarizing what came back"
}
