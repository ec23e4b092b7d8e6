/* vcpu.c: one virtual CPU: its registers at reset, its thread and its exit dispatch. */
#include "kvm/vcpu.h"

#include "x86/cpuid.h"
#include "x86/x86_boot.h"
#include "util/log.h"
#include "sandbox/thread.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1
#define X86_CR0_PE 0x1ULL
#define X86_CR0_MP 0x2ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_WP 0x10000ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void kick_handler(int sig)
{
	(void)sig; /* only here so the signal interrupts KVM_RUN */
}

int vcpu_init_signals(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code ? 0 : 1,
		.s = 1,
		.l = code ? 1 : 0,
		.g = 1,
	};
}

/* The state the 64-bit boot protocol asks for: long mode, paging on, flat segments. */
static int set_boot_state(int fd, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = entry, .rsi = zero_page, .rflags = 0x2};
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

	if (ioctl(fd, KVM_GET_SREGS, &s))
		return -errno;
	s.cs = flat_segment(BOOT_CS, 0xb, true);
	s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(BOOT_DS, 0x3, false);
	s.tr = (struct kvm_segment){
		.base = 0, .limit = 0xfffff, .selector = BOOT_TSS, .type = 0xb, .present = 1};
	s.gdt.base = BOOT_GDT_ADDR;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s.cr3 = BOOT_PML4_ADDR;
	s.cr4 = X86_CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(fd, KVM_SET_SREGS, &s) || ioctl(fd, KVM_SET_REGS, &r) || ioctl(fd, KVM_SET_FPU, &fpu))
		return -errno;
	return 0;
}

/* LINT0 as ExtINT and LINT1 as NMI, as on a PC: what firmware would have left behind. */
static int set_lapic_lints(int fd)
{
	struct kvm_lapic_state l;
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &l))
		return -errno;
	memcpy(&v, &l.regs[APIC_LVT0], 4);
	v = (v & ~0x700U) | (APIC_MODE_EXTINT << 8);
	memcpy(&l.regs[APIC_LVT0], &v, 4);
	memcpy(&v, &l.regs[APIC_LVT1], 4);
	v = (v & ~0x700U) | (APIC_MODE_NMI << 8);
	memcpy(&l.regs[APIC_LVT1], &v, 4);
	return ioctl(fd, KVM_SET_LAPIC, &l) ? -errno : 0;
}

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id, uint64_t entry, uint64_t zero_page,
		const char **why)
{
	struct kvm_cpuid2 *cpuid;
	int r;

	memset(v, 0, sizeof(*v));
	v->id = id;
	v->vm = vm;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		*why = "KVM_CREATE_VCPU failed";
		return -errno;
	}
	v->run = mmap(NULL, vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		*why = "cannot map the vCPU's kvm_run area";
		return -errno;
	}
	cpuid = cpuid_for_vcpu(vm->kvm.supported, id, vm->nvcpus, vm->kvm.tsc_deadline);
	if (!cpuid) {
		*why = "out of memory building CPUID";
		return -ENOMEM;
	}
	r = ioctl(v->fd, KVM_SET_CPUID2, cpuid) ? -errno : 0;
	free(cpuid);
	if (r) {
		*why = "KVM_SET_CPUID2 failed";
		return r;
	}
	r = set_lapic_lints(v->fd);
	if (r) {
		*why = "cannot program the local APIC's LINT pins";
		return r;
	}
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC; only vCPU 0 boots. */
	if (id == 0) {
		r = set_boot_state(v->fd, entry, zero_page);
		if (r) {
			*why = "cannot set the boot vCPU's registers";
			return r;
		}
	}
	return 0;
}

/* Port I/O: KVM hands over COUNT accesses of SIZE bytes each in the kvm_run page. */
static int handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t total = (uint64_t)run->io.size * run->io.count;
	uint8_t *data;

	if (run->io.size == 0 || run->io.size > 4 || run->io.data_offset > v->vm->kvm.run_size ||
	    total > v->vm->kvm.run_size - run->io.data_offset) {
		log_err("vcpu%u: malformed port I/O exit from KVM", v->id);
		return -EINVAL;
	}
	data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++)
		bus_access(&v->vm->pio, run->io.port, data + (size_t)i * run->io.size, run->io.size,
			   run->io.direction == KVM_EXIT_IO_OUT);
	return 0;
}

static int handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_MMIO:
		if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data)) {
			log_err("vcpu%u: malformed MMIO exit from KVM", v->id);
			return -EINVAL;
		}
		bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			   run->mmio.is_write);
		return 0;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_TRIPLE_FAULT);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_request_stop(v->vm, VM_STOP_POWEROFF);
			return 0;
		}
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vm_request_stop(v->vm, VM_STOP_REBOOT);
			return 0;
		}
		log_err("vcpu%u: unhandled system event %u", v->id, run->system_event.type);
		return -EINVAL;
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("vcpu%u: KVM could not enter the guest (hardware reason 0x%llx)", v->id,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return -EIO;
	case KVM_EXIT_INTERNAL_ERROR:
		log_err("vcpu%u: KVM internal error, suberror %u", v->id, run->internal.suberror);
		return -EIO;
	default:
		log_err("vcpu%u: unknown KVM exit reason %u", v->id, run->exit_reason);
		return -EINVAL;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	while (vm_stop_reason(v->vm) == VM_RUNNING) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_err("vcpu%u: KVM_RUN failed: %s", v->id, strerror(errno));
			vm_request_stop(v->vm, VM_STOP_ERROR);
			break;
		}
		if (handle_exit(v) < 0) {
			vm_request_stop(v->vm, VM_STOP_ERROR);
			break;
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *v, const struct sandbox_fds *fds)
{
	char name[16];
	/* A vCPU runs guest code: its thread confines itself (seccomp kind vcpu, no capabilities)
	 * before it runs the guest; if it cannot, it never does. */
	int r = sandbox_thread_spawn(&v->thread, SANDBOX_VCPU, fds, vcpu_thread, v);

	if (r)
		return r;
	v->started = true;
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(v->thread, name); /* names it in top -H and seccomp's kernel log */
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	/* Set before the signal: a vCPU about to enter KVM_RUN then returns at once (EINTR). */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->kvm.run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
