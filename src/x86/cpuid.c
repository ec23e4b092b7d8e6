/* cpuid.c: the CPUID table each vCPU sees, derived from what KVM supports. */
#include "x86/cpuid.h"

#include <stdlib.h>
#include <string.h>

#define LEAF1_ECX_TSC_DEADLINE (1U << 24)
#define LEAF1_ECX_HYPERVISOR (1U << 31)
#define LEAF1_EDX_HTT (1U << 28)
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2

/* Bits needed to number NCPUS cores: the x2APIC id shift of the core level. */
static unsigned core_shift(unsigned ncpus)
{
	unsigned s = 0;

	while ((1U << s) < ncpus)
		s++;
	return s;
}

static void set_topology_leaf(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus)
{
	switch (e->index) {
	case 0: /* one thread per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1: /* NCPUS cores per socket */
		e->eax = core_shift(ncpus);
		e->ebx = ncpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = id;
}

static void adjust_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus, bool tsc_deadline)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffffU) | (ncpus << 16) | (id << 24);
		e->ecx |= LEAF1_ECX_HYPERVISOR;
		if (tsc_deadline)
			e->ecx |= LEAF1_ECX_TSC_DEADLINE;
		if (ncpus > 1)
			e->edx |= LEAF1_EDX_HTT;
		else
			e->edx &= ~LEAF1_EDX_HTT;
		break;
	case 4: /* Intel: cores sharing this package, in EAX[31:26]; threads sharing the cache */
		if ((e->eax & 0x1f) == 0)
			break; /* no cache at this index */
		e->eax &= 0x3ff;
		/* A six-bit field: saturate, as shifting more in would drop the high bits. */
		e->eax |= (ncpus - 1 < 63 ? ncpus - 1 : 63) << 26;
		if (((e->eax >> 5) & 7) == 3) /* L3 is shared by every core */
			e->eax |= (ncpus - 1) << 14;
		break;
	case 0xb:
	case 0x1f:
		set_topology_leaf(e, id, ncpus);
		break;
	case 0x80000008: /* AMD: NC = cores - 1, and the APIC id bits they take */
		e->ecx = (e->ecx & ~0xf0ffU) | (core_shift(ncpus) << 12) | (ncpus - 1);
		break;
	case 0x8000001e: /* AMD: extended APIC id, one thread per compute unit */
		e->eax = id;
		e->ebx = id & 0xff;
		e->ecx = 0;
		break;
	default:
		break;
	}
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus,
				  bool tsc_deadline)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);

	if (!c)
		return NULL;
	memcpy(c, supported, size);
	for (unsigned i = 0; i < c->nent; i++)
		adjust_entry(&c->entries[i], id, ncpus, tsc_deadline);
	return c;
}
