/* cpuid.h: the CPUID table each vCPU sees, derived from what KVM supports. */
#ifndef BULWARK_CPUID_H
#define BULWARK_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

/*
 * Returns a malloc'd copy of SUPPORTED adjusted for vCPU ID of NCPUS: its APIC id, a topology of
 * NCPUS single-threaded cores in one socket, the hypervisor bit, and the TSC-deadline timer when
 * KVM emulates it. NULL when out of memory.
 */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus,
				  bool tsc_deadline);

#endif
