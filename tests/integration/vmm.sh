# tests/integration/vmm.sh: one VM description, started with bulwark or with QEMU microvm, and the
# network namespace with a tap that the device cases and bench/devices put a guest in. Sourced.
#
# Describe the VM in these variables, then call vm_command VMM NAME DIR:
#   vm_kernel vm_initrd vm_cmdline vm_mem_mib vm_vcpus
#   vm_disks=("PATH|ro|SERIAL" ...)   ro is 0 or 1
#   vm_nics=("TAP|MAC[|SEGMENT|IPV4]" ...)   a segment (bulwark only) turns the NIC's frame filter on
#   vm_policy                               bulwark's policy (default policy-test.yaml)
#   vm_rng=0|1
# vm_command sets the array vm_cmd (for bulwark it writes DIR/NAME.yaml first).
# shellcheck shell=bash disable=SC2034 # vm_cmd and the settings are for the sourcing script

vm_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm_bulwark=${BULWARK_BIN:-$vm_repo/build/bulwark}
vm_kernel=$vm_repo/.cache/guest-kernel/vmlinuz
vm_initrd=$vm_repo/.cache/guest/test-initrd.cpio.gz
vm_cmdline="console=ttyS0 reboot=k panic=-1 pci=off"
vm_mem_mib=256
vm_vcpus=1
vm_disks=()
vm_nics=()
vm_rng=0
# Allows what the cases and benchmarks boot (up to 4 vCPUs, 4 GiB).
vm_policy=$vm_repo/tests/integration/policy-test.yaml
# QEMU as bench/boot runs it, plus virtio-mmio version 2 (QEMU defaults to the legacy version 1).
vm_qemu_machine=${BULWARK_QEMU_MACHINE:-microvm,acpi=on}

vm_command() {
    local vmm=$1 name=$2 dir=$3 d n path ro serial tap mac segment ipv4 i=0
    if [[ $vmm == bulwark ]]; then
        local cfg=$dir/$name.yaml
        {
            echo "name: $name"
            echo "vcpus: $vm_vcpus"
            echo "memory: ${vm_mem_mib}MiB"
            echo "kernel: $vm_kernel"
            echo "initrd: $vm_initrd"
            echo "cmdline: \"$vm_cmdline\""
            ((${#vm_disks[@]})) && echo "disks:"
            for d in "${vm_disks[@]}"; do
                IFS='|' read -r path ro serial <<<"$d"
                echo "  - path: $path"
                ((ro)) && echo "    read_only: true"
                [[ -n $serial ]] && echo "    serial: \"$serial\""
            done
            ((${#vm_nics[@]})) && echo "nics:"
            for n in "${vm_nics[@]}"; do
                IFS='|' read -r tap mac segment ipv4 <<<"$n"
                echo "  - tap: $tap"
                [[ -n $mac ]] && echo "    mac: \"$mac\""
                [[ -n $segment ]] && echo "    segment: $segment"
                [[ -n $ipv4 ]] && echo "    ipv4: $ipv4"
            done
            ((vm_rng)) && echo "rng: true"
            echo "policy: $vm_policy"
        } >"$cfg"
        vm_cmd=("$vm_bulwark" run "$cfg")
        return 0
    fi
    local bios=()
    [[ -f /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom)
    vm_cmd=(qemu-system-x86_64 -M "$vm_qemu_machine" -accel kvm -cpu host -m "${vm_mem_mib}M"
        -smp "$vm_vcpus" -nodefaults -no-user-config -nographic -serial stdio -no-reboot "${bios[@]}"
        -kernel "$vm_kernel" -initrd "$vm_initrd" -append "$vm_cmdline"
        -global virtio-mmio.force-legacy=false)
    for d in "${vm_disks[@]}"; do
        IFS='|' read -r path ro serial <<<"$d"
        local ro_opt=""
        ((ro)) && ro_opt=",readonly=on"
        vm_cmd+=(-drive "id=disk$i,file=$path,format=raw,if=none$ro_opt"
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

# netns_up NS TAP ADDR/LEN: a fresh namespace NS holding tap TAP with the host's address ADDR.
netns_up() {
    netns_down "$1"
    ip netns add "$1" &&
        ip -n "$1" link set lo up &&
        ip -n "$1" tuntap add dev "$2" mode tap &&
        ip -n "$1" addr add "$3" dev "$2" &&
        ip -n "$1" link set "$2" up
}

# netns_down NS: removes NS and everything in it (its tap goes with it).
netns_down() {
    ip netns pids "$1" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$1" 2>/dev/null
    return 0
}
