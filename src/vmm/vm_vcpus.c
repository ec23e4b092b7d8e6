/* vm_vcpus.c: the VM's side of its vCPUs: what they see of it, their creation, start and stop. */
#include "vmm/vm_vcpus.h"

#include "util/bytes.h"
#include "util/log.h"
#include "x86/boot_regs.h"
#include "x86/cpuid.h"
#include "x86/x86_boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A vCPU's stop reasons as the VM reports them. */
static const enum vm_stop_reason vm_reason[] = {
    [VCPU_STOP_TRIPLE_FAULT] = VM_STOP_TRIPLE_FAULT,
    [VCPU_STOP_POWEROFF] = VM_STOP_POWEROFF,
    [VCPU_STOP_RESET] = VM_STOP_REBOOT,
    [VCPU_STOP_ERROR] = VM_STOP_ERROR,
};

static void host_pio(void *opaque, uint16_t port, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	bus_access(&vm->pio, port, data, len, is_write);
}

static void host_mmio(void *opaque, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	bus_access(&vm->mmio, addr, data, len, is_write);
}

static void host_stop(void *opaque, enum vcpu_stop why)
{
	vm_request_stop(opaque,
			(unsigned)why < ARRAY_SIZE(vm_reason) ? vm_reason[why] : VM_STOP_ERROR);
}

static bool host_stopping(void *opaque)
{
	return vm_stop_reason(opaque) != VM_RUNNING;
}

/* What VM's vCPUs see of it: its fd, its buses, and its stop request. */
static struct vcpu_host vm_vcpu_host(struct vm *vm)
{
	return (struct vcpu_host){
	    .vm_fd = vm->kvm.vm_fd,
	    .run_size = vm->kvm.run_size,
	    .opaque = vm,
	    .pio = host_pio,
	    .mmio = host_mmio,
	    .stop = host_stop,
	    .stopping = host_stopping,
	};
}

int vm_vcpu_create(struct vm *vm, unsigned id, const char **why)
{
	struct vcpu_host host = vm_vcpu_host(vm);
	struct kvm_cpuid2 *cpuid;
	int r;

	cpuid = cpuid_for_vcpu(vm->kvm.supported, id, vm->nvcpus, vm->kvm.tsc_deadline);
	if (!cpuid) {
		*why = "out of memory building CPUID";
		return -ENOMEM;
	}
	r = vcpu_create(&vm->vcpus[id], &host, id, cpuid, why);
	free(cpuid);
	if (r)
		return r;
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC; only vCPU 0 boots. */
	if (id == 0) {
		r = x86_boot_set_regs(vm->vcpus[id].fd, vm->files.plan.entry, BOOT_ZERO_PAGE_ADDR);
		if (r)
			*why = "cannot set the boot vCPU's registers";
	}
	return r;
}

void vm_vcpus_start(struct vm *vm, const struct sandbox_fds *fds)
{
	for (unsigned i = 0; i < vm->nvcpus && vm_stop_reason(vm) == VM_RUNNING; i++) {
		int r = vcpu_start(&vm->vcpus[i], fds);

		if (r) {
			log_err("vcpu%u: cannot start its thread: %s", i, strerror(-r));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
	}
}

void vm_vcpus_stop(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}
