/* vm_vcpus.h: the VM's side of its vCPUs: what they see of it, their creation, start and stop. */
#ifndef BULWARK_VM_VCPUS_H
#define BULWARK_VM_VCPUS_H

#include "kvm/vcpu.h"
#include "vmm/vm.h"

/* Creates vCPU ID of VM with its CPUID table; vCPU 0 also gets the boot protocol's entry state.
 * Returns 0 or -errno with WHY saying which step failed. */
int vm_vcpu_create(struct vm *vm, unsigned id, const char **why);

/* Starts every vCPU's thread, FDS pinned; on a failure logs it, asks the VM to stop with
 * VM_STOP_ERROR and starts no more. Starts none once the VM is stopping. */
void vm_vcpus_start(struct vm *vm, const struct sandbox_fds *fds);

/* Gets every started vCPU out of KVM_RUN and waits for its thread to end. */
void vm_vcpus_stop(struct vm *vm);

#endif
