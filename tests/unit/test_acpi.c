/* test_acpi.c: unit tests for the ACPI table builder (acpi.c) and the AML encoder (aml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "x86/acpi.h"
#include "x86/aml.h"

#define GPA 0xE0000
#define BUFLEN 0x20000

static uint8_t big[BUFLEN];

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void platform(struct acpi_platform *p, unsigned ncpus, unsigned n_mmio)
{
	unsigned i;

	memset(p, 0, sizeof(*p));
	p->ncpus = ncpus;
	p->lapic_addr = 0xfee00000;
	p->ioapic_addr = 0xfec00000;
	p->ioapic_id = (uint8_t)ncpus;
	p->sleep_ctl_port = 0x600;
	p->sleep_sts_port = 0x601;
	p->serial_port = 0x3f8;
	p->serial_irq = 4;
	p->n_mmio = n_mmio;
	/* n_mmio may exceed the array on purpose (test_invalid); fill only what exists. */
	for (i = 0; i < n_mmio && i < ACPI_MAX_MMIO_DEVS; i++)
		p->mmio[i] = (struct acpi_mmio_dev){0xd0000000 + 0x1000 * i, 0x1000, 5 + i};
}

/* Checks a table at guest address GPA_T inside BIG[0, used): returns its offset. */
static size_t table_at(uint64_t gpa_t, size_t used, const char *sig)
{
	size_t off, len;

	assert_true(gpa_t >= GPA && gpa_t - GPA + 36 <= used);
	off = gpa_t - GPA;
	assert_int_equal(off % 16, 0);
	assert_memory_equal(big + off, sig, 4);
	len = rd(big + off + 4, 4);
	assert_true(len >= 36 && off + len <= used);
	assert_int_equal(sum8(big + off, len), 0);
	assert_memory_equal(big + off + 10, "BLWARK", 6);
	assert_memory_equal(big + off + 16, "BULWARK ", 8);
	assert_memory_equal(big + off + 28, "BLWK", 4);
	return off;
}

struct tables {
	size_t used, xsdt, fadt, madt, dsdt;
};

static struct tables build(const struct acpi_platform *p)
{
	struct tables t;
	long r = acpi_build(big, BUFLEN, GPA, p);

	assert_true(r > 0 && r <= BUFLEN);
	t.used = (size_t)r;
	assert_memory_equal(big, "RSD PTR ", 8);
	assert_int_equal(big[15], 2);
	assert_int_equal(rd(big + 20, 4), 36);
	assert_int_equal(sum8(big, 20), 0);
	assert_int_equal(sum8(big, 36), 0);
	t.xsdt = table_at(rd(big + 24, 8), t.used, "XSDT");
	assert_int_equal(rd(big + t.xsdt + 4, 4), 36 + 2 * 8);
	t.fadt = table_at(rd(big + t.xsdt + 36, 8), t.used, "FACP");
	t.madt = table_at(rd(big + t.xsdt + 44, 8), t.used, "APIC");
	t.dsdt = table_at(rd(big + t.fadt + 140, 8), t.used, "DSDT");
	assert_int_equal(rd(big + t.fadt + 40, 4), GPA + t.dsdt);
	/* The DSDT comes last; everything stays in the legacy 0xE0000-0xFFFFF RSDP scan window. */
	assert_int_equal(t.dsdt + rd(big + t.dsdt + 4, 4), t.used);
	assert_true(GPA + t.used <= 0x100000);
	return t;
}

static void test_fadt(void **state)
{
	struct acpi_platform p;
	const uint8_t *f;

	(void)state;
	platform(&p, 2, 1);
	f = big + build(&p).fadt;
	assert_int_equal(rd(f + 4, 4), 276);
	assert_int_equal(f[8], 6);
	assert_true(rd(f + 112, 4) & (1u << 20));    /* HW_REDUCED_ACPI */
	assert_int_equal(rd(f + 109, 2) & 0x3, 0);   /* no LEGACY_DEVICES, no 8042 */
	assert_int_equal(rd(f + 109, 2) & 0xc, 0x4); /* VGA absent, MSI not refused */
	assert_int_equal(rd(f + 36, 4), 0);	     /* no FACS */
	assert_int_equal(rd(f + 46, 2), 0);	     /* no SCI */
	/* SLEEP_CONTROL_REG, SLEEP_STATUS_REG: System I/O, 8 bits at the given ports. */
	assert_memory_equal(f + 244, "\x01\x08\x00\x01", 4);
	assert_int_equal(rd(f + 248, 8), 0x600);
	assert_memory_equal(f + 256, "\x01\x08\x00\x01", 4);
	assert_int_equal(rd(f + 260, 8), 0x601);
	assert_memory_equal(f + 268, "BULWARK\0", 8);
}

/* STATE points at the vCPU count: 1, 4 and the maximum, 254. */
static void test_madt(void **state)
{
	unsigned ncpus = *(const unsigned *)*state, nlapic = 0, nioapic = 0;
	struct acpi_platform p;
	const uint8_t *m, *e, *end;

	platform(&p, ncpus, 0);
	m = big + build(&p).madt;
	end = m + rd(m + 4, 4);
	assert_int_equal(rd(m + 36, 4), 0xfee00000);
	assert_int_equal(rd(m + 40, 4), 0); /* no PCAT_COMPAT */
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		if (e[0] == 0) {
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], nlapic); /* processor UID */
			assert_int_equal(e[3], nlapic); /* APIC id */
			assert_int_equal(rd(e + 4, 4), 1);
			nlapic++;
		} else {
			assert_int_equal(e[0], 1);
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], ncpus);
			assert_int_equal(rd(e + 4, 4), 0xfec00000);
			assert_int_equal(rd(e + 8, 4), 0);
			nioapic++;
		}
	}
	assert_true(e == end);
	assert_int_equal(nlapic, ncpus);
	assert_int_equal(nioapic, 1);
}

static void test_invalid(void **state)
{
	struct acpi_platform p;

	(void)state;
	platform(&p, 255, 0);
	assert_int_equal(acpi_build(big, BUFLEN, GPA, &p), -EINVAL);
	platform(&p, 0, 0);
	assert_int_equal(acpi_build(big, BUFLEN, GPA, &p), -EINVAL);
	platform(&p, 1, 33);
	assert_int_equal(acpi_build(big, BUFLEN, GPA, &p), -EINVAL);
	platform(&p, 1, 1);
	assert_int_equal(acpi_build(big, BUFLEN, GPA + 8, &p), -EINVAL);
	assert_int_equal(acpi_build(NULL, BUFLEN, GPA, &p), -EINVAL);
	assert_int_equal(acpi_build(big, BUFLEN, GPA, NULL), -EINVAL);
	p.serial_irq = 16;
	assert_int_equal(acpi_build(big, BUFLEN, GPA, &p), -EINVAL);
	platform(&p, 1, 1);
	p.mmio[0].base = 0xfffff000; /* window would cross 4 GiB */
	p.mmio[0].size = 0x2000;
	assert_int_equal(acpi_build(big, BUFLEN, GPA, &p), -EINVAL);
}

/* STATE points at {ncpus, n_mmio}. */
static void test_enospc(void **state)
{
	const unsigned *arg = *state;
	struct acpi_platform p;
	uint8_t *want, *b;
	size_t n, len;
	long r;

	platform(&p, arg[0], arg[1]);
	r = acpi_build(big, BUFLEN, GPA, &p);
	assert_true(r > 0);
	n = (size_t)r;
	want = malloc(n);
	assert_non_null(want);
	memcpy(want, big, n);
	/* Exact size works and gives the same bytes; malloc'd so ASan sees any overrun. */
	b = malloc(n);
	assert_non_null(b);
	assert_int_equal(acpi_build(b, n, GPA, &p), (long)n);
	assert_memory_equal(b, want, n);
	free(b);
	/* Every shorter length fails with -ENOSPC, each in a buffer of exactly that size. */
	for (len = 1; len < n; len++) {
		b = malloc(len);
		assert_non_null(b);
		assert_int_equal(acpi_build(b, len, GPA, &p), -ENOSPC);
		free(b);
	}
	/* And bytes past buflen stay untouched. */
	for (len = n - 4; len < n; len++) {
		memset(big, 0xA5, BUFLEN);
		assert_int_equal(acpi_build(big, len, GPA, &p), -ENOSPC);
		for (size_t i = len; i < n + 64; i++)
			assert_int_equal(big[i], 0xA5);
	}
	free(want);
}

static size_t count(const uint8_t *h, size_t hn, const void *needle, size_t nn)
{
	size_t i, c = 0;

	for (i = 0; i + nn <= hn; i++)
		c += memcmp(h + i, needle, nn) == 0;
	return c;
}

/* Decodes a PkgLength at P, returning its value and setting *N to its byte count. */
static size_t pkglen(const uint8_t *p, size_t *n)
{
	size_t v = p[0] & 0x3f, i;

	*n = 1 + (p[0] >> 6);
	if (*n > 1)
		for (v = p[0] & 0x0f, i = 1; i < *n; i++)
			v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/* STATE points at the number of virtio-mmio devices. */
static void test_dsdt(void **state)
{
	unsigned n_mmio = *(const unsigned *)*state, i;
	struct acpi_platform p;
	struct tables t;
	const uint8_t *d, *a;
	size_t len, n, scope;
	char name[16];

	platform(&p, 2, n_mmio);
	t = build(&p);
	d = big + t.dsdt;
	len = rd(d + 4, 4);
	assert_int_equal(d[8], 2);
	assert_int_equal(count(d, len, "LNRO0005", 8), n_mmio);
	assert_int_equal(count(d, len, "\x0c\x41\xd0\x05\x01", 5), 1); /* EisaId("PNP0501") */
	assert_int_equal(count(d, len, "COM1", 4), 1);
	/* IO(Decode16, 0x3f8, 0x3f8, 1, 8) and IRQNoFlags(){4}. */
	assert_int_equal(count(d, len, "\x47\x01\xf8\x03\xf8\x03\x01\x08\x22\x10\x00\x79\x00", 13),
			 1);
	for (i = 0; i < n_mmio; i++) {
		snprintf(name, sizeof(name), "VR%02u", i);
		assert_int_equal(count(d, len, name, 4), 1);
	}
	/* Top level: Scope(\_SB_) around every device, then Name(_S5_, Package(4){5, 0, 0, 0}). */
	a = d + 36;
	assert_int_equal(a[0], 0x10);
	scope = pkglen(a + 1, &n);
	assert_memory_equal(a + 1 + n, "\\_SB_", 5);
	a += 1 + scope;
	assert_memory_equal(a, "\x08_S5_\x12\x07\x04\x0a\x05\x00\x00\x00", 13);
	assert_true(a + 13 == d + len);
}

/* The GED and its button: off by default, on with a GSI, which must be an IOAPIC pin. */
static void test_dsdt_power_button(void **state)
{
	/* Method(_EVT, 1, Serialized) { Notify(\_SB_.PWRB, 0x80) } */
	static const char evt[] = "\x14\x13_EVT\x09\x86\x5c\x2e_SB_PWRB\x0a\x80";
	struct acpi_platform p;
	const uint8_t *d;
	struct tables t;
	size_t len;

	(void)state;
	platform(&p, 1, 0);
	t = build(&p);
	assert_int_equal(count(big + t.dsdt, rd(big + t.dsdt + 4, 4), "GED0", 4), 0);
	p.power_button_gsi = 9;
	t = build(&p);
	d = big + t.dsdt;
	len = rd(d + 4, 4);
	assert_int_equal(count(d, len,
			       "\x0d"
			       "ACPI0013",
			       10),
			 1);
	assert_int_equal(count(d, len, "\x0c\x41\xd0\x0c\x0c", 5), 1); /* EisaId("PNP0C0C") */
	/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { 9 } */
	assert_int_equal(count(d, len, "\x89\x06\x00\x03\x01\x09\x00\x00\x00", 9), 1);
	assert_int_equal(count(d, len, evt, sizeof(evt) - 1), 1);
	p.power_button_gsi = ACPI_IOAPIC_PINS;
	assert_int_equal(acpi_build(big, BUFLEN, GPA, &p), -EINVAL);
}

static void test_aml_pkglength_encode(void **state)
{
	static const struct {
		uint32_t v;
		size_t n;
		uint8_t b[4];
	} c[] = {{0, 1, {0x00}},
		 {63, 1, {0x3f}},
		 {64, 2, {0x40, 0x04}},
		 {4095, 2, {0x4f, 0xff}},
		 {4096, 3, {0x80, 0x00, 0x01}},
		 {1048575, 3, {0x8f, 0xff, 0xff}},
		 {1048576, 4, {0xc0, 0x00, 0x00, 0x01}},
		 {AML_PKGLEN_MAX, 4, {0xcf, 0xff, 0xff, 0xff}},
		 {AML_PKGLEN_MAX + 1, 0, {0}}};
	uint8_t out[4];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		assert_int_equal(aml_pkglength_encode(out, c[i].v), c[i].n);
		assert_memory_equal(out, c[i].b, c[i].n);
	}
}

/* aml_close around BODY bytes: the PkgLength counts itself, so the boundaries sit 1-4 bytes early.
 */
static void test_aml_close(void **state)
{
	static const size_t cases[][2] = {{0, 1},    {62, 1},	   {63, 2},	{4093, 2},
					  {4094, 3}, {0xffffc, 3}, {0xffffd, 4}};
	size_t c, body, want, n, i;
	struct aml a;
	uint8_t *b;

	(void)state;
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		body = cases[c][0], want = cases[c][1];
		b = malloc(body + want); /* exactly the room needed, so ASan sees any overrun */
		assert_non_null(b);
		for (i = 0; i < body; i++)
			b[i] = (uint8_t)i;
		aml_init(&a, b, body + want);
		a.len = body; /* as if the body had been emitted after aml_open() returned 0 */
		aml_close(&a, 0);
		assert_false(a.failed);
		assert_int_equal(a.len, body + want);
		assert_int_equal(pkglen(b, &n), body + want);
		assert_int_equal(n, want);
		for (i = 0; i < body; i++)
			assert_int_equal(b[want + i], (uint8_t)i);
		/* One byte less room fails, and stays failed. */
		aml_init(&a, b, body + want - 1);
		a.len = body;
		aml_close(&a, 0);
		assert_true(a.failed);
		aml_byte(&a, 0);
		assert_int_equal(a.len, body);
		free(b);
	}
}

static void expect(const struct aml *a, const char *bytes, size_t n)
{
	assert_false(a->failed);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, bytes, n);
}

/* Run CALL on a fresh encoder A, then check that it emitted exactly BYTES, or that it failed. */
#define EXPECT(call, bytes)                                                                        \
	(aml_init(&a, out, sizeof(out)), call, expect(&a, bytes, sizeof(bytes) - 1))
#define REJECT(call) (aml_init(&a, out, sizeof(out)), call, assert_true(a.failed))

static void test_aml_encoders(void **state)
{
	uint8_t out[64];
	struct aml a;
	size_t m;

	(void)state;
	EXPECT(aml_integer(&a, 0), "\x00");
	EXPECT(aml_integer(&a, 1), "\x01");
	EXPECT(aml_integer(&a, 0xff), "\x0a\xff");
	EXPECT(aml_integer(&a, 0x100), "\x0b\x00\x01");
	EXPECT(aml_integer(&a, 0x10000), "\x0c\x00\x00\x01\x00");
	EXPECT(aml_integer(&a, 0x100000000), "\x0e\x00\x00\x00\x00\x01\x00\x00\x00");
	EXPECT(aml_namestring(&a, "\\_SB_"), "\\_SB_");
	EXPECT(aml_namestring(&a, "\\_SB"), "\\_SB_");
	EXPECT(aml_namestring(&a, "_SB.COM1"), "\x2e_SB_COM1");
	EXPECT(aml_namestring(&a, "\\A.B.C"), "\\\x2f\x03"
					      "A___B___C___");
	EXPECT(aml_namestring(&a, "\\"), "\\\x00");
	REJECT(aml_namestring(&a, "1ABC"));
	REJECT(aml_namestring(&a, "ABCDE"));
	REJECT(aml_namestring(&a, "ab"));
	REJECT(aml_namestring(&a, "A..B"));
	REJECT(aml_namestring(&a, "A."));
	EXPECT(aml_string(&a, "LNRO0005"), "\x0dLNRO0005\x00");
	REJECT(aml_string(&a, "\xc3\xa9"));
	EXPECT(aml_eisaid(&a, "PNP0A03"), "\x0c\x41\xd0\x0a\x03");
	REJECT(aml_eisaid(&a, "PNP0a03"));
	REJECT(aml_eisaid(&a, "PNP05"));
	EXPECT((m = aml_package(&a, 2), aml_integer(&a, 5), aml_integer(&a, 0), aml_close(&a, m)),
	       "\x12\x05\x02\x0a\x05\x00");
	EXPECT((m = aml_device(&a, "DEV0"), aml_close(&a, m)), "\x5b\x82\x05"
							       "DEV0");
	EXPECT((m = aml_buffer(&a), aml_res_end(&a), aml_buffer_close(&a, m)),
	       "\x11\x05\x0a\x02\x79\x00");
	EXPECT(aml_res_mem32_fixed(&a, true, 0xd0000000, 0x200),
	       "\x86\x09\x00\x01\x00\x00\x00\xd0\x00\x02\x00\x00");
	EXPECT(aml_res_ext_irq(&a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 40),
	       "\x89\x06\x00\x03\x01\x28\x00\x00\x00");
	REJECT(aml_res_irq_noflags(&a, 16));
	EXPECT((m = aml_method(&a, "_EVT", 1, false), aml_notify(&a, "PWRB", 2), aml_close(&a, m)),
	       "\x14\x0d_EVT\x01\x86PWRB\x0a\x02");
	REJECT(aml_method(&a, "_EVT", AML_METHOD_MAX_ARGS + 1, false));
	/* Overflow is sticky: nothing more is written once a call failed. */
	aml_init(&a, out, 3);
	aml_integer(&a, 0x10000);
	assert_true(a.failed);
	assert_int_equal(a.len, 0);
	aml_byte(&a, 0);
	assert_int_equal(a.len, 0);
}

/*
 * Not a test: with BULWARK_ACPI_DUMP=DIR set, writes each table of a sample build to DIR as
 * NAME.dat, for a manual "iasl -d" check of each file. The unit tests never depend on iasl.
 */
static void test_dump(void **state)
{
	const char *dir = getenv("BULWARK_ACPI_DUMP");
	const char *names[] = {"rsdp", "xsdt", "facp", "apic", "dsdt"};
	struct acpi_platform p;
	char path[4096];
	struct tables t;
	size_t off[5], len, i;
	FILE *f;

	(void)state;
	if (!dir)
		return;
	platform(&p, 4, 3);
	p.power_button_gsi = 9;
	t = build(&p);
	off[0] = 0, off[1] = t.xsdt, off[2] = t.fadt, off[3] = t.madt, off[4] = t.dsdt;
	for (i = 0; i < 5; i++) {
		len = rd(big + off[i] + (i == 0 ? 20 : 4), 4); /* the RSDP keeps its length at 20 */
		snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
		f = fopen(path, "wb");
		if (!f || fwrite(big + off[i], len, 1, f) != 1)
			perror(path);
		if (f)
			fclose(f);
	}
}

int main(void)
{
	static const unsigned cpus[] = {1, 4, 254}, mmio[] = {0, 1, ACPI_MAX_MMIO_DEVS};
	static const unsigned sizes[][2] = {{1, 0}, {4, 3}, {254, ACPI_MAX_MMIO_DEVS}};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fadt),
	    {"test_madt 1 cpu", test_madt, NULL, NULL, (void *)&cpus[0]},
	    {"test_madt 4 cpus", test_madt, NULL, NULL, (void *)&cpus[1]},
	    {"test_madt 254 cpus", test_madt, NULL, NULL, (void *)&cpus[2]},
	    cmocka_unit_test(test_invalid),
	    {"test_enospc 1 cpu 0 mmio", test_enospc, NULL, NULL, (void *)sizes[0]},
	    {"test_enospc 4 cpus 3 mmio", test_enospc, NULL, NULL, (void *)sizes[1]},
	    {"test_enospc 254 cpus 32 mmio", test_enospc, NULL, NULL, (void *)sizes[2]},
	    {"test_dsdt 0 mmio", test_dsdt, NULL, NULL, (void *)&mmio[0]},
	    {"test_dsdt 1 mmio", test_dsdt, NULL, NULL, (void *)&mmio[1]},
	    {"test_dsdt 32 mmio", test_dsdt, NULL, NULL, (void *)&mmio[2]},
	    cmocka_unit_test(test_dsdt_power_button),
	    cmocka_unit_test(test_aml_pkglength_encode),
	    cmocka_unit_test(test_aml_close),
	    cmocka_unit_test(test_aml_encoders),
	    cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
