/* vm.h: one virtual machine: its KVM handles, RAM, buses, devices and vCPUs, and why it stopped. */
#ifndef BULWARK_VM_H
#define BULWARK_VM_H

#include "config/config.h"
#include "devices/acpi_pm.h"
#include "devices/bus.h"
#include "devices/console_out.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "kvm/kvm.h"
#include "kvm/memory.h"
#include "vmm/vm_devices.h"
#include "x86/boot_files.h"

#include <pthread.h>

enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,	/* ACPI S5 through the FADT sleep control register */
	VM_STOP_REBOOT,		/* i8042 reset line */
	VM_STOP_TRIPLE_FAULT,	/* KVM_EXIT_SHUTDOWN */
	VM_STOP_CONSOLE_QUIT,	/* the console escape sequence */
	VM_STOP_SIGNAL,		/* SIGTERM, SIGINT or SIGHUP to bulwark, with no grace period */
	VM_STOP_BUTTON_TIMEOUT, /* the guest ignored its power button for shutdown_timeout */
	VM_STOP_SECOND_SIGNAL,	/* a second signal while the guest had its power button */
	VM_STOP_ERROR,		/* something bulwark could not handle */
};

/* The power button's interrupt: 9 was the SCI's, which a hardware-reduced platform has none of. */
#define VM_POWER_BUTTON_GSI 9

struct vcpu;

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct serial serial;
	struct console_out console; /* the UART's output on its way to stdout */
	struct i8042 i8042;
	struct acpi_pm pm;
	struct boot_files files;
	struct vm_devices devs; /* virtio: disks, nics, rng */
	int serial_drained_fd;	/* eventfd: the guest made room in the UART's receive FIFO */
	struct vcpu *vcpus;
	unsigned nvcpus;
	int stop_fd;	   /* eventfd: the main thread wakes when a stop is requested */
	int stop_reason;   /* enum vm_stop_reason; the first request wins */
	int stop_signal;   /* the signal behind VM_STOP_SIGNAL or VM_STOP_SECOND_SIGNAL */
	int button_signal; /* the signal that pressed the power button; 0: none did */
	int shutdown_fd;   /* timerfd: the grace period after the power button; -1: none */
};

/*
 * Opens every host resource CFG names, while privileged and outside any jail: maps and checks
 * the boot files, opens disk images and taps. Returns 0, or -1 with ERR filled: a refused config
 * or boot file (BW_ERR_CONFIG, FILE:LINE:COLUMN) or a runtime failure. NET: the policy's network
 * section, for the NICs' frame filters. vm_destroy() releases what it opened, whatever it returns.
 */
int vm_open(struct vm *vm, const struct vm_config *cfg, const struct policy_network *net,
	    struct bw_error *err);

/*
 * Then /dev/kvm (the system fd only), its capabilities, and whether it runs a guest at all (the
 * probe: before any vCPU of the VM exists). Returns 0, or -1 with ERR filled: a KVM that cannot be
 * used here (BW_ERR_HOST, with the module and the fix) or more vCPUs than KVM allows
 * (BW_ERR_CONFIG, FILE:LINE:COLUMN).
 */
int vm_open_kvm(struct vm *vm, struct bw_error *err);

/*
 * Creates the VM on what vm_open() opened: KVM_CREATE_VM, RAM and its memory slots, devices,
 * vCPUs, the loaded kernel. Call it in the process that will run the VM, after any fork.
 * Returns 0, or -1 with ERR filled.
 */
int vm_create(struct vm *vm, struct bw_error *err);

/*
 * Starts the device and vCPU threads and waits until the VM stops; logs the one line saying why.
 * Returns why (an enum vm_stop_reason), or -1 with ERR filled when it could not start. From the
 * first thread on, a failure is an event of the running VM: logged once where it happens, by the
 * thread that meets it, and the VM stops with VM_STOP_ERROR.
 */
int vm_run(struct vm *vm, struct bw_error *err);

void vm_destroy(struct vm *vm);

/* Asks the VM to stop; safe from any thread. The first reason given is the one reported. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);

static inline enum vm_stop_reason vm_stop_reason(const struct vm *vm)
{
	return (enum vm_stop_reason)__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE);
}

#endif
