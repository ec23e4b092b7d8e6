/* fake_kvm.h: a pretend /dev/kvm for the probe and host-check tests. Link with -Wl,--wrap=ioctl:
 * KVM's requests are answered here (on any fd), KVM_RUN as fake_kvm_mode says; anything else
 * goes to the real ioctl. The vCPU's kvm_run area is a memfd, so the code under test mmaps it. */
#ifndef BULWARK_FAKE_KVM_H
#define BULWARK_FAKE_KVM_H

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FAKE_RUN_SIZE 4096
#define FAKE_RAM_SIZE 0x2000 /* the probe's guest RAM */

enum fake_kvm_mode {
	FAKE_RAN,	  /* the guest runs: a tiny interpreter of the probe's instructions */
	FAKE_WRONG_VALUE, /* the same, but the add is lost */
	FAKE_SHUTDOWN,	  /* a triple fault */
	FAKE_SPIN,	  /* no progress; KVM_RUN returns EINTR once kicked (real KVM) */
	FAKE_DEAF,	  /* no progress, and kicks do not get KVM_RUN out */
	FAKE_DIES,	  /* the process running KVM_RUN exits */
	FAKE_NO_VM,	  /* KVM_CREATE_VM fails */
};

static enum fake_kvm_mode fake_kvm_mode;
static int fake_kvm_missing_cap = -1; /* a capability KVM_CHECK_EXTENSION denies */
static int fake_kvm_api = KVM_API_VERSION;
/* What the code under test set up, as the fake saw it (in the process that made the calls). */
static uint8_t *fake_kvm_ram;
static struct kvm_regs fake_kvm_regs;
static struct kvm_sregs fake_kvm_sregs;
static struct kvm_run *fake_kvm_run;

int __real_ioctl(int fd, unsigned long request, ...);

static int fake_kvm_vcpu(void)
{
	int fd = memfd_create("fake-kvm-run", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, FAKE_RUN_SIZE))
		return -1;
	fake_kvm_run = mmap(NULL, FAKE_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return fake_kvm_run == MAP_FAILED ? -1 : fd;
}

/* Runs the guest's code from cs.base + rip as real mode would: a countdown in ecx, mov ax/dx,
 * add ax and out dx, ax are all the probe's guest needs; anything else ends in an internal
 * error, hlt in a HLT exit. */
static int fake_kvm_interpret(struct kvm_run *run)
{
	uint64_t at = fake_kvm_sregs.cs.base + fake_kvm_regs.rip;
	const uint8_t *pc = fake_kvm_ram + at;
	uint16_t ax = 0, dx = 0;

	if (!fake_kvm_ram || at > FAKE_RAM_SIZE - 64) {
		run->exit_reason = KVM_EXIT_FAIL_ENTRY; /* nothing mapped there */
		return 0;
	}
	for (int i = 0; i < 16; i++) {
		uint16_t imm = (uint16_t)(pc[1] | pc[2] << 8);

		if (pc[0] == 0x66 && pc[1] == 0xb9) { /* mov ecx, imm32 */
			pc += 6;
			continue;
		}
		if (pc[0] == 0x66 && pc[1] == 0x49 && pc[2] == 0x75 && pc[3] == 0xfc) {
			pc += 4; /* dec ecx; jnz: the whole countdown at once */
			continue;
		}
		switch (pc[0]) {
		case 0xb8: /* mov ax, imm16 */
			ax = imm, pc += 3;
			continue;
		case 0x05: /* add ax, imm16 */
			ax = (uint16_t)(fake_kvm_mode == FAKE_WRONG_VALUE ? ax : ax + imm), pc += 3;
			continue;
		case 0xba: /* mov dx, imm16 */
			dx = imm, pc += 3;
			continue;
		case 0xef: /* out dx, ax */
			run->exit_reason = KVM_EXIT_IO;
			run->io.direction = KVM_EXIT_IO_OUT;
			run->io.size = 2;
			run->io.port = dx;
			run->io.count = 1;
			run->io.data_offset = 512;
			memcpy((uint8_t *)run + 512, &ax, 2);
			return 0;
		case 0xf4:
			run->exit_reason = KVM_EXIT_HLT;
			return 0;
		default:
			break;
		}
		break;
	}
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	return 0;
}

/* KVM_RUN: what the chosen mode makes of the guest. */
static int fake_kvm_run_once(void)
{
	struct kvm_run *run = fake_kvm_run;

	switch (fake_kvm_mode) {
	case FAKE_RAN:
	case FAKE_WRONG_VALUE:
		return fake_kvm_interpret(run);
	case FAKE_SHUTDOWN:
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		return 0;
	case FAKE_SPIN:
		/* The kick's handler sets immediate_exit; pause() returns once it ran. */
		while (!run->immediate_exit)
			pause();
		errno = EINTR;
		return -1;
	case FAKE_DEAF:
		for (;;)
			pause();
	case FAKE_DIES:
		_exit(3);
	case FAKE_NO_VM:
		break;
	}
	errno = EINVAL;
	return -1;
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	switch (request) {
	case KVM_GET_API_VERSION:
		return fake_kvm_api;
	case KVM_CHECK_EXTENSION:
		if ((long)(uintptr_t)arg == fake_kvm_missing_cap)
			return 0;
		return (long)(uintptr_t)arg == KVM_CAP_MAX_VCPUS ? 64 : 1;
	case KVM_GET_VCPU_MMAP_SIZE:
		return FAKE_RUN_SIZE;
	case KVM_CREATE_VM:
		if (fake_kvm_mode == FAKE_NO_VM) {
			errno = EINVAL;
			return -1;
		}
		return dup(fd);
	case KVM_SET_TSS_ADDR:
		return 0;
	case KVM_SET_USER_MEMORY_REGION:
		fake_kvm_ram = (uint8_t *)(uintptr_t)((struct kvm_userspace_memory_region *)arg)
				   ->userspace_addr;
		return 0;
	case KVM_CREATE_VCPU:
		return fake_kvm_vcpu();
	case KVM_GET_SREGS:
		memset(arg, 0, sizeof(struct kvm_sregs));
		((struct kvm_sregs *)arg)->cs.base = 0xffff0000; /* as after reset */
		((struct kvm_sregs *)arg)->cs.selector = 0xf000;
		return 0;
	case KVM_SET_SREGS:
		fake_kvm_sregs = *(struct kvm_sregs *)arg;
		return 0;
	case KVM_SET_REGS:
		fake_kvm_regs = *(struct kvm_regs *)arg;
		return 0;
	case KVM_RUN:
		return fake_kvm_run_once();
	default:
		return __real_ioctl(fd, request, arg);
	}
}

#endif
