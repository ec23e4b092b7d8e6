/* vcpu.c: one virtual CPU: its creation, its thread and its exit dispatch. */
#include "kvm/vcpu.h"

#include "sandbox/thread.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1
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

int vcpu_create(struct vcpu *v, const struct vcpu_host *host, unsigned id,
		const struct kvm_cpuid2 *cpuid, const char **why)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->id = id;
	v->host = *host;
	v->fd = ioctl(host->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		*why = "KVM_CREATE_VCPU failed";
		return -errno;
	}
	v->run = mmap(NULL, host->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		*why = "cannot map the vCPU's kvm_run area";
		return -errno;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid)) {
		*why = "KVM_SET_CPUID2 failed";
		return -errno;
	}
	r = set_lapic_lints(v->fd);
	if (r)
		*why = "cannot program the local APIC's LINT pins";
	return r;
}

/* Port I/O: KVM hands over COUNT accesses of SIZE bytes each in the kvm_run page. */
static int handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t total = (uint64_t)run->io.size * run->io.count;
	uint8_t *data;

	if (run->io.size == 0 || run->io.size > 4 || run->io.data_offset > v->host.run_size ||
	    total > v->host.run_size - run->io.data_offset) {
		log_err("vcpu%u: malformed port I/O exit from KVM", v->id);
		return -EINVAL;
	}
	data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++)
		v->host.pio(v->host.opaque, run->io.port, data + (size_t)i * run->io.size,
			    run->io.size, run->io.direction == KVM_EXIT_IO_OUT);
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
		v->host.mmio(v->host.opaque, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			     run->mmio.is_write);
		return 0;
	case KVM_EXIT_SHUTDOWN:
		v->host.stop(v->host.opaque, VCPU_STOP_TRIPLE_FAULT);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			v->host.stop(v->host.opaque, VCPU_STOP_POWEROFF);
			return 0;
		}
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			v->host.stop(v->host.opaque, VCPU_STOP_RESET);
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

void vcpu_run(struct vcpu *v)
{
	while (!v->host.stopping(v->host.opaque)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_err("vcpu%u: KVM_RUN failed: %s", v->id, strerror(errno));
			v->host.stop(v->host.opaque, VCPU_STOP_ERROR);
			break;
		}
		if (handle_exit(v) < 0) {
			v->host.stop(v->host.opaque, VCPU_STOP_ERROR);
			break;
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	vcpu_run(v);
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
		munmap(v->run, v->host.run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
