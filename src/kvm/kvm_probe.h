/* kvm_probe.h: whether /dev/kvm runs an ordinary guest, and which module serves it. */
#ifndef BULWARK_KVM_PROBE_H
#define BULWARK_KVM_PROBE_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long the test guest may take to reach its I/O exit. Real KVM needs well under a
 * millisecond; an emulated host's nested KVM a few tens of milliseconds. */
#define KVM_PROBE_BOUND_MS 2000

enum kvm_probe_verdict {
	KVM_PROBE_RAN,	      /* the guest computed its value and wrote it to its port */
	KVM_PROBE_STUCK,      /* no exit within the bound: KVM_RUN was kicked out by the timer */
	KVM_PROBE_WRONG_EXIT, /* KVM_RUN returned, but not with the guest's I/O exit */
	KVM_PROBE_FAILED,     /* a KVM call the probe needs failed, or its process died */
};

struct kvm_probe {
	enum kvm_probe_verdict verdict;
	unsigned total_us;    /* the whole probe as its caller waited for it, fork included */
	unsigned run_us;      /* from the first KVM_RUN to its verdict */
	uint32_t exit_reason; /* WRONG_EXIT: kvm_run.exit_reason */
	uint16_t io_port;     /* WRONG_EXIT on KVM_EXIT_IO: what the guest did instead */
	uint32_t io_value;
	int err;	/* FAILED: errno of STEP, or 0 */
	int unkillable; /* STUCK: the probe's process outlived SIGKILL (stuck in the kernel) */
	char step[48];	/* FAILED: the call that failed */
};

/*
 * Runs a tiny real-mode guest on a fresh VM from DEV_FD (an open /dev/kvm): it counts down from
 * 8M (milliseconds on a CPU, seconds where each instruction is emulated), adds two numbers and
 * writes the sum to an I/O port, which must come back as a KVM_EXIT_IO within BOUND_MS. The
 * VM lives in a child process whose KVM_RUN a timer kicks out (immediate_exit) at the bound; the
 * caller also SIGKILLs that child if it has not answered shortly after, so the probe never hangs,
 * whatever serves /dev/kvm. Fills P and returns 0 when the guest ran, -1 otherwise.
 */
int kvm_probe_run(int dev_fd, unsigned bound_ms, struct kvm_probe *p);

/*
 * kvm_probe_run() for `bulwark run`: when DEV_FD cannot run a guest, returns -1 with ERR (kind
 * BW_ERR_HOST) naming the module, the cause and the fix; else 0, the probe's cost at debug level.
 */
int kvm_probe_check(int dev_fd, struct bw_error *err);

/*
 * The KVM vendor modules loaded under SYS_MODULE (normally "/sys/module"): "kvm_intel",
 * "kvm_amd", "kvm_pvm", several joined by " or ", into BUF; "" when none is loaded as a module
 * (built into the kernel, or no KVM at all).
 */
void kvm_vendor_modules(const char *sys_module, char *buf, size_t size);

/* One line saying what P found, naming MODULE where known ("" if not); BOUND_MS as given. */
void kvm_probe_describe(const struct kvm_probe *p, const char *module, unsigned bound_ms, char *buf,
			size_t size);

/* What to do about a probe that failed on a /dev/kvm served by MODULE. */
const char *kvm_probe_fix(const struct kvm_probe *p, const char *module);

/* Whether MODULES (kvm_vendor_modules()) has kvm_pvm, whose /dev/kvm runs no ordinary guest. */
bool kvm_is_pvm(const char *modules);

/* What to do on a host whose KVM is kvm_pvm. */
extern const char kvm_pvm_fix[];

/* What to do about a /dev/kvm that is missing or did not open with ERR (an errno), on a host
 * whose KVM vendor modules are MODULES (kvm_vendor_modules()). */
const char *kvm_device_fix(const char *modules, int err);

/* KVM_EXIT_* as a name, for messages ("KVM_EXIT_SHUTDOWN"); "KVM exit N" for unknown ones. */
const char *kvm_exit_name(uint32_t reason, char *buf, size_t size);

#endif
