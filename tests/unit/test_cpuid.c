/* test_cpuid.c: the per-vCPU CPUID table made from what KVM supports: APIC ids and topology. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "util/bytes.h"
#include "x86/cpuid.h"

/* CPUID: a synthetic KVM_GET_SUPPORTED_CPUID table. */
enum { L1, LB0, LB1, LB2, L4_L1D, L4_L3, L4_NONE, L80000008, L8000001E, L0, NLEAVES };

static struct kvm_cpuid2 *supported(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NLEAVES * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = NLEAVES;
	c->entries[L1] = (struct kvm_cpuid_entry2){
	    .function = 1, .eax = 0x906ea, .ebx = 0x77880800, .ecx = 0x7ffafbff, .edx = 0xbfebfbff};
	c->entries[L1].ecx &=
	    ~(1U << 24 | 1U << 31); /* as KVM reports: no TSC deadline, no HV bit */
	c->entries[LB0] = (struct kvm_cpuid_entry2){
	    .function = 0xb, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 99};
	c->entries[LB1] = (struct kvm_cpuid_entry2){
	    .function = 0xb, .index = 1, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 99};
	c->entries[LB2] = (struct kvm_cpuid_entry2){
	    .function = 0xb, .index = 2, .eax = 7, .ebx = 7, .ecx = 0x302, .edx = 99};
	/* Leaf 4: L1 data cache (type 1, level 1), L3 unified (type 3, level 3), and the end. */
	c->entries[L4_L1D] = (struct kvm_cpuid_entry2){
	    .function = 4, .index = 0, .eax = 0xfc004121, .ebx = 0x01c0003f};
	c->entries[L4_L3] = (struct kvm_cpuid_entry2){
	    .function = 4, .index = 3, .eax = 0xfc03c163, .ebx = 0x03c0003f};
	c->entries[L4_NONE] =
	    (struct kvm_cpuid_entry2){.function = 4, .index = 4, .eax = 0xfc000000};
	c->entries[L80000008] =
	    (struct kvm_cpuid_entry2){.function = 0x80000008, .eax = 0x3027, .ecx = 0xabcd70ff};
	c->entries[L8000001E] = (struct kvm_cpuid_entry2){
	    .function = 0x8000001e, .eax = 7, .ebx = 0x0107, .ecx = 0x0303};
	c->entries[L0] = (struct kvm_cpuid_entry2){
	    .function = 0, .eax = 0x16, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69};
	return c;
}

static void cpuid_copy_leaves_input_alone(void **state)
{
	struct kvm_cpuid2 *s = supported(), *orig = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 3, 4, true);

	(void)state;
	assert_non_null(c);
	assert_ptr_not_equal(c, s);
	assert_int_equal(c->nent, NLEAVES);
	assert_memory_equal(s, orig, sizeof(*s) + NLEAVES * sizeof(s->entries[0]));
	for (int i = 0; i < NLEAVES; i++) {
		assert_int_equal(c->entries[i].function, s->entries[i].function);
		assert_int_equal(c->entries[i].index, s->entries[i].index);
	}
	/* Leaves bulwark does not adjust pass through untouched. */
	assert_memory_equal(&c->entries[L0], &s->entries[L0], sizeof(c->entries[L0]));
	free(c);
	free(orig);
	free(s);
}

static void cpuid_leaf1_apic_id_and_count(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 3, 4, false);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->entries[L1].ebx >> 24, 3);
	assert_int_equal((c->entries[L1].ebx >> 16) & 0xff, 4);
	assert_int_equal(c->entries[L1].ebx & 0xffff, 0x0800); /* CLFLUSH size etc. kept */
	assert_int_equal(c->entries[L1].eax, s->entries[L1].eax);
	free(c);
	c = cpuid_for_vcpu(s, 253, 254, false);
	assert_non_null(c);
	assert_int_equal(c->entries[L1].ebx >> 24, 253);
	assert_int_equal((c->entries[L1].ebx >> 16) & 0xff, 254);
	free(c);
	free(s);
}

static void cpuid_leaf1_hypervisor_bit(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 0, 1, false);

	(void)state;
	assert_non_null(c);
	assert_true(c->entries[L1].ecx & (1U << 31));
	/* Every other feature bit is what KVM offered. */
	assert_int_equal(c->entries[L1].ecx & ~(1U << 31), s->entries[L1].ecx);
	free(c);
	free(s);
}

static void cpuid_leaf1_tsc_deadline_only_when_asked(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *off = cpuid_for_vcpu(s, 0, 2, false);
	struct kvm_cpuid2 *on = cpuid_for_vcpu(s, 0, 2, true);

	(void)state;
	assert_non_null(off);
	assert_non_null(on);
	assert_false(off->entries[L1].ecx & (1U << 24));
	assert_true(on->entries[L1].ecx & (1U << 24));
	free(off);
	free(on);
	free(s);
}

static void cpuid_leaf1_htt(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *one, *two;

	(void)state;
	s->entries[L1].edx |= 1U << 28;
	one = cpuid_for_vcpu(s, 0, 1, false);
	s->entries[L1].edx &= ~(1U << 28);
	two = cpuid_for_vcpu(s, 1, 2, false);
	assert_non_null(one);
	assert_non_null(two);
	assert_false(one->entries[L1].edx & (1U << 28));
	assert_true(two->entries[L1].edx & (1U << 28));
	free(one);
	free(two);
	free(s);
}

static void cpuid_leaf_b_topology(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 5, 6, false);
	const struct kvm_cpuid_entry2 *smt, *core, *end;

	(void)state;
	assert_non_null(c);
	smt = &c->entries[LB0];
	core = &c->entries[LB1];
	end = &c->entries[LB2];
	/* SMT level: one thread per core, no id bits. */
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);
	assert_int_equal(smt->edx, 5);
	/* Core level: six cores, three bits of x2APIC id to number them. */
	assert_int_equal(core->eax, 3);
	assert_int_equal(core->ebx, 6);
	assert_int_equal(core->ecx, 0x201);
	assert_int_equal(core->edx, 5);
	/* Past the last level: type 0 ends the enumeration. */
	assert_int_equal(end->eax, 0);
	assert_int_equal(end->ebx, 0);
	assert_int_equal(end->ecx, 2);
	assert_int_equal(end->edx, 5);
	free(c);
	free(s);
}

static void cpuid_leaf_b_shift_boundaries(void **state)
{
	static const unsigned n[] = {1, 2, 3, 4, 5, 8, 9, 254};
	static const unsigned shift[] = {0, 1, 2, 2, 3, 3, 4, 8};
	struct kvm_cpuid2 *s = supported();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(n); i++) {
		struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 0, n[i], false);

		assert_non_null(c);
		assert_int_equal(c->entries[LB1].eax, shift[i]);
		assert_int_equal(c->entries[LB1].ebx, n[i]);
		/* Every id below n fits in the shift. */
		assert_true(n[i] - 1 < (1U << shift[i]) || n[i] == 1);
		free(c);
	}
	free(s);
}

static void cpuid_leaf4_cores_per_package(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 1, 4, false);

	(void)state;
	assert_non_null(c);
	/* EAX[31:26] = cores - 1 for every cache; L3 is shared by all, L1 by one thread. */
	assert_int_equal(c->entries[L4_L1D].eax >> 26, 3);
	assert_int_equal((c->entries[L4_L1D].eax >> 14) & 0xfff, 0);
	assert_int_equal(c->entries[L4_L1D].eax & 0x3ff, 0x121);
	assert_int_equal(c->entries[L4_L3].eax >> 26, 3);
	assert_int_equal((c->entries[L4_L3].eax >> 14) & 0xfff, 3);
	assert_int_equal(c->entries[L4_L3].eax & 0x3ff, 0x163);
	/* Cache geometry in EBX is untouched; the end marker too. */
	assert_int_equal(c->entries[L4_L3].ebx, s->entries[L4_L3].ebx);
	assert_int_equal(c->entries[L4_NONE].eax, s->entries[L4_NONE].eax);
	free(c);
	free(s);
}

static void cpuid_leaf4_many_cores_saturate(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 0, 254, false);

	(void)state;
	assert_non_null(c);
	/* The six-bit field cannot say 253: it must not wrap to a small count or spill. */
	assert_int_equal(c->entries[L4_L3].eax >> 26, 63);
	assert_int_equal((c->entries[L4_L3].eax >> 14) & 0xfff, 253);
	assert_int_equal(c->entries[L4_L3].eax & 0x3ff, 0x163);
	free(c);
	c = cpuid_for_vcpu(s, 0, 65, false);
	assert_non_null(c);
	assert_int_equal(c->entries[L4_L3].eax >> 26, 63);
	free(c);
	free(s);
}

static void cpuid_amd_leaves(void **state)
{
	struct kvm_cpuid2 *s = supported();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(s, 6, 8, false);

	(void)state;
	assert_non_null(c);
	/* 0x80000008 ECX: NC = 7 in [7:0], ApicIdSize = 3 in [15:12], the rest kept. */
	assert_int_equal(c->entries[L80000008].ecx & 0xff, 7);
	assert_int_equal((c->entries[L80000008].ecx >> 12) & 0xf, 3);
	assert_int_equal(c->entries[L80000008].ecx & ~0xf0ffU,
			 s->entries[L80000008].ecx & ~0xf0ffU);
	assert_int_equal(c->entries[L80000008].eax, s->entries[L80000008].eax);
	/* 0x8000001e: extended APIC id and one thread per compute unit. */
	assert_int_equal(c->entries[L8000001E].eax, 6);
	assert_int_equal(c->entries[L8000001E].ebx, 6);
	assert_int_equal(c->entries[L8000001E].ecx, 0);
	free(c);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cpuid_copy_leaves_input_alone),
	    cmocka_unit_test(cpuid_leaf1_apic_id_and_count),
	    cmocka_unit_test(cpuid_leaf1_hypervisor_bit),
	    cmocka_unit_test(cpuid_leaf1_tsc_deadline_only_when_asked),
	    cmocka_unit_test(cpuid_leaf1_htt),
	    cmocka_unit_test(cpuid_leaf_b_topology),
	    cmocka_unit_test(cpuid_leaf_b_shift_boundaries),
	    cmocka_unit_test(cpuid_leaf4_cores_per_package),
	    cmocka_unit_test(cpuid_leaf4_many_cores_saturate),
	    cmocka_unit_test(cpuid_amd_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
