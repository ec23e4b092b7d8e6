# tests/integration/lib.sh: shared helpers for the integration cases: configs, runs, verdicts.
# Sourced, not run. Each case reports one TAP-style line: "ok - NAME" or "not ok - NAME: why".

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bulwark=${BULWARK_BIN:-$repo/build/bulwark}
kernel=$repo/.cache/guest-kernel/vmlinuz
test_initrd=$repo/.cache/guest/test-initrd.cpio.gz
# The cases' guests go up to 4 vCPUs and 4 GiB, beyond the built-in default policy.
test_policy=$repo/tests/integration/policy-test.yaml
work=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-it.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() {
    echo "ok - $1"
    passed=$((passed + 1))
}

not_ok() {
    echo "not ok - $1: $2"
    failed=$((failed + 1))
    # Show what the VM said, so a CI log explains the failure on its own.
    if [[ -n ${3:-} && -f $3 ]]; then
        echo "# --- last lines of $3"
        tail -n 25 "$3" | sed 's/^/#   /'
    fi
}

# make_config NAME VCPUS MEMORY CMDLINE [KERNEL] [INITRD]: writes $work/NAME.yaml (under
# $test_policy), prints its path.
make_config() {
    local cfg=$work/$1.yaml
    {
        echo "name: $1"
        echo "vcpus: $2"
        echo "memory: $3"
        echo "kernel: ${5:-$kernel}"
        [[ ${6-$test_initrd} ]] && echo "initrd: ${6-$test_initrd}"
        echo "cmdline: \"$4\""
        echo "policy: $test_policy"
    } >"$cfg"
    echo "$cfg"
}

# run_vm CONFIG TIMEOUT: runs bulwark; sets $rc, and $out/$err to files with stdout and stderr.
# A VM still running after TIMEOUT seconds is killed (rc 124): a hung guest fails, CI does not hang.
# Inside the emulated host, a VM whose guest triple-faulted (nested emulation's fault, not the
# guest's: tests/emuhost/README.md) runs once more, with a "#" line saying so.
run_vm() {
    local base try
    for try in 1 2; do
        base=$work/$(basename "$1" .yaml).$RANDOM
        out=$base.out
        err=$base.err
        rc=0
        timeout -k 5 "$2" "$bulwark" run "$1" </dev/null >"$out" 2>"$err" || rc=$?
        [[ -n ${BULWARK_EMUHOST:-} && $try == 1 ]] && grep -q 'guest triple-faulted' "$err" ||
            break
        echo "# $(basename "$1" .yaml): the guest triple-faulted in the emulated host; once more"
    done
}

# field NAME: the value the test guest reported as NAME=VALUE between its markers.
field() {
    sed -n '/^BULWARK-TEST-BEGIN/,/^BULWARK-TEST-END/p' "$out" | tr -d '\r' |
        sed -n "s/^$1=//p" | head -n 1
}

summary() {
    echo "# $passed passed, $failed failed"
}
