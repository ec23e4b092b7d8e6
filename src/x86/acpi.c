/* acpi.c: lays out the guest's ACPI tables (RSDP, XSDT, hardware-reduced FADT, MADT, DSDT). */
#include "x86/acpi.h"
#include "util/bytes.h"

#include "x86/aml.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/*
 * Layout, each table 16-byte aligned (the RSDP must be; the rest only needs 8, but 16 keeps the
 * hexdump readable): RSDP at offset 0, then XSDT, FADT, MADT, and the variable-size DSDT last.
 * There is no RSDT (the RSDP's 32-bit pointer is 0, which ACPI 2.0+ readers accept since they
 * use the XSDT) and no FACS (optional with hardware-reduced ACPI: there is no firmware to wake).
 */
#define TABLE_ALIGN 16
#define HDR_LEN 36

#define RSDP_LEN 36
#define RSDP_V1_LEN 20 /* the part covered by the first checksum */
#define XSDT_NENTRIES 2
#define XSDT_LEN (HDR_LEN + 8 * XSDT_NENTRIES)
#define FADT_LEN 276 /* ACPI 6.0+ FADT, through the Hypervisor Vendor Identity */
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_FIXED_LEN (HDR_LEN + 8)

/*
 * xAPIC ids are 8 bits and 0xff is broadcast: ids 0-253 for vCPUs leave 254 for the IOAPIC,
 * which acpi.h places after the last LAPIC. More would need x2APIC (type 9) entries.
 */
#define ACPI_MAX_CPUS 254

/* FADT field offsets (ACPI 6.5 table 5.9). */
#define FADT_DSDT 40
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS 256
#define FADT_HYPERVISOR_ID 268

/* FADT flags (table 5.10). */
#define FADT_F_WBINVD (1u << 0)	    /* required on IA-PC: WBINVD flushes caches */
#define FADT_F_PROC_C1 (1u << 2)    /* HLT works on every CPU */
#define FADT_F_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_F_HW_REDUCED (1u << 20)

/* IA-PC boot architecture flags (table 5.11). */
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_LAPIC_ENABLED 1

static const char OEM_ID[6] = {'B', 'L', 'W', 'A', 'R', 'K'};
static const char OEM_TABLE_ID[8] = {'B', 'U', 'L', 'W', 'A', 'R', 'K', ' '};
static const char CREATOR_ID[4] = {'B', 'L', 'W', 'K'};
static const char HYPERVISOR_ID[8] = {'B', 'U', 'L', 'W', 'A', 'R', 'K', '\0'};

/* Sets the byte at CSUM so that LEN bytes from P sum to zero (mod 256). */
static void fix_checksum(uint8_t *p, size_t len, size_t csum)
{
	uint8_t sum = 0;
	size_t i;

	p[csum] = 0;
	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[csum] = (uint8_t)-sum;
}

/* The common 36-byte header; the checksum (offset 9) is fixed once the body is written. */
static void put_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	store_le(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, sizeof(OEM_ID));
	memcpy(t + 16, OEM_TABLE_ID, sizeof(OEM_TABLE_ID));
	store_le(t + 24, 1, 4); /* OEM revision */
	memcpy(t + 28, CREATOR_ID, sizeof(CREATOR_ID));
	store_le(t + 32, 1, 4); /* creator revision */
}

static void put_gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* register bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	store_le(g + 4, port, 8);
}

struct layout {
	uint8_t *buf;
	size_t buflen;
	size_t off; /* first byte not yet handed out */
};

/*
 * Hands out LEN bytes at the next aligned offset, zeroing them and the padding before them so
 * the guest sees no stale host bytes. Returns the offset, or -ENOSPC before touching anything.
 */
static long take(struct layout *l, size_t len)
{
	size_t start = (l->off + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1);

	if (start > l->buflen || len > l->buflen - start)
		return -ENOSPC;
	memset(l->buf + l->off, 0, start + len - l->off);
	l->off = start + len;
	return (long)start;
}

static void build_rsdp(uint8_t *t, uint64_t xsdt_gpa)
{
	/* ACPI signatures and ids are fixed-width fields, never NUL-terminated. */
	memcpy(t, "RSD PTR ", 8); // NOLINT(bugprone-not-null-terminated-result)
	memcpy(t + 9, OEM_ID, 6); // NOLINT(bugprone-not-null-terminated-result)
	t[15] = 2;		  /* revision: ACPI 2.0+, so the XSDT fields below are valid */
	store_le(t + 16, 0, 4);	  /* RSDT address: none */
	store_le(t + 20, RSDP_LEN, 4);
	store_le(t + 24, xsdt_gpa, 8);
	fix_checksum(t, RSDP_V1_LEN, 8);
	fix_checksum(t, RSDP_LEN, 32);
}

static void build_xsdt(uint8_t *t, const uint64_t entries[XSDT_NENTRIES])
{
	unsigned i;

	put_header(t, "XSDT", XSDT_LEN, 1);
	for (i = 0; i < XSDT_NENTRIES; i++)
		store_le(t + HDR_LEN + (size_t)8 * i, entries[i], 8);
	fix_checksum(t, XSDT_LEN, 9);
}

static void build_fadt(uint8_t *t, uint64_t dsdt_gpa, const struct acpi_platform *p)
{
	put_header(t, "FACP", FADT_LEN, 6);
	/* ACPICA prefers X_DSDT; the 32-bit copy is only for readers that predate it. */
	store_le(t + FADT_DSDT, dsdt_gpa <= UINT32_MAX ? dsdt_gpa : 0, 4);
	store_le(t + FADT_X_DSDT, dsdt_gpa, 8);
	/*
	 * Hardware-reduced: no PM1/GPE blocks, no PM timer, no SCI, no SMI_CMD (all left 0), and
	 * Linux then skips the legacy PIC and PIT entirely. Power-off goes through the two sleep
	 * registers instead of PM1_CNT.
	 */
	store_le(t + FADT_FLAGS,
		 FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		     FADT_F_HW_REDUCED,
		 4);
	/*
	 * No LEGACY_DEVICES and no 8042 bit, so Linux's i8042 driver does not probe (ours is only a
	 * reset stub behind port 0x64). No VGA; no CMOS RTC either, as bulwark emulates none, so
	 * Linux does not register rtc_cmos. MSI stays "supported": virtio-mmio does not use it, and
	 * claiming otherwise would only matter to a PCI bus we do not have.
	 */
	store_le(t + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT, 2);
	t[FADT_MINOR_VERSION] = 0; /* 6.0: everything used here exists since ACPI 6.0 */
	put_gas_io8(t + FADT_SLEEP_CONTROL, p->sleep_ctl_port);
	put_gas_io8(t + FADT_SLEEP_STATUS, p->sleep_sts_port);
	memcpy(t + FADT_HYPERVISOR_ID, HYPERVISOR_ID, sizeof(HYPERVISOR_ID));
	fix_checksum(t, FADT_LEN, 9);
}

static size_t madt_len(unsigned ncpus)
{
	return MADT_FIXED_LEN + (size_t)ncpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN;
}

/*
 * No Interrupt Source Override entries. KVM's default routing sends GSI n to IOAPIC pin n, so
 * ISA IRQs 0-15 already map 1:1, which is what "no override" means. The override a PC usually
 * carries (IRQ 0 -> GSI 2) is for a PIT wired to pin 2; with hardware-reduced ACPI Linux sets
 * up no PIT at all and takes its clock events from the LAPIC's TSC-deadline timer.
 */
static void build_madt(uint8_t *t, const struct acpi_platform *p)
{
	size_t len = madt_len(p->ncpus);
	uint8_t *e = t + MADT_FIXED_LEN;
	unsigned i;

	/* Revision 3 (ACPI 6.0), matching the FADT; the LAPIC entries use no later fields. */
	put_header(t, "APIC", (uint32_t)len, 3);
	store_le(t + HDR_LEN, p->lapic_addr, 4);
	/* Flags 0: no PCAT_COMPAT, so Linux neither expects nor masks a dual 8259. */
	store_le(t + HDR_LEN + 4, 0, 4);
	for (i = 0; i < p->ncpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id: vCPU i has APIC id i */
		store_le(e + 4, MADT_LAPIC_ENABLED, 4);
	}
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = p->ioapic_id;
	e[3] = 0;
	store_le(e + 4, p->ioapic_addr, 4);
	store_le(e + 8, 0, 4); /* GSI base: pin n is GSI n */
	fix_checksum(t, len, 9);
}

_Static_assert(ACPI_MAX_MMIO_DEVS <= 100, "VRnn names have two decimal digits");

/* One virtio-mmio device: the "LNRO0005" _HID is what Linux's virtio_mmio driver matches. */
static void dsdt_mmio_dev(struct aml *a, unsigned i, const struct acpi_mmio_dev *d)
{
	/* NameSeg "VRnn"; check_platform() keeps i below ACPI_MAX_MMIO_DEVS. */
	char name[5] = {'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10), '\0'};
	size_t dev, crs;

	dev = aml_device(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, i);
	/* Cache-coherent DMA; x86 always is, but without _CCA some arches' Linux warns. */
	aml_name(a, "_CCA");
	aml_integer(a, 1);
	aml_name(a, "_CRS");
	crs = aml_buffer(a);
	aml_res_mem32_fixed(a, true, (uint32_t)d->base, d->size);
	/* Edge, like the VMM's KVM_IRQ_LINE pulse; a GSI above 15 needs the extended form. */
	aml_res_ext_irq(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
	aml_res_end(a);
	aml_buffer_close(a, crs);
	aml_close(a, dev);
}

/*
 * The power button of a hardware-reduced platform, as Cloud Hypervisor gives it: a Generic Event
 * Device (ACPI0013) whose one interrupt runs _EVT, which notifies a PNP0C0C button. Linux's evged
 * (built in) takes the interrupt and its button driver turns the notify into KEY_POWER for the
 * guest's init. With one event only, _EVT needs no register to tell events apart.
 */
static void dsdt_power_button(struct aml *a, uint8_t gsi)
{
	size_t dev, crs, method;

	dev = aml_device(a, "PWRB");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C0C");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_close(a, dev);

	dev = aml_device(a, "GED0");
	aml_name(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	crs = aml_buffer(a);
	/* Edge: bulwark pulses the line once per press, as it does for virtio interrupts. */
	aml_res_ext_irq(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, gsi);
	aml_res_end(a);
	aml_buffer_close(a, crs);
	method = aml_method(a, "_EVT", 1, true);
	aml_notify(a, "\\_SB_.PWRB", ACPI_NOTIFY_BUTTON_PRESSED);
	aml_close(a, method);
	aml_close(a, dev);
}

static void dsdt_body(struct aml *a, const struct acpi_platform *p)
{
	size_t sb, dev, crs, pkg;
	unsigned i;

	sb = aml_scope(a, "\\_SB_");
	/* The 16550 as a PNP device, so 8250_pnp binds it with the port and IRQ given here. */
	dev = aml_device(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	crs = aml_buffer(a);
	aml_res_io16(a, p->serial_port, p->serial_port, 1, 8);
	aml_res_irq_noflags(a, p->serial_irq);
	aml_res_end(a);
	aml_buffer_close(a, crs);
	aml_close(a, dev);
	for (i = 0; i < p->n_mmio; i++)
		dsdt_mmio_dev(a, i, &p->mmio[i]);
	if (p->power_button_gsi)
		dsdt_power_button(a, p->power_button_gsi);
	aml_close(a, sb);

	/*
	 * \_S5_ gives SLP_TYP for soft-off. Linux only offers ACPI power-off if this evaluates and
	 * both sleep registers exist; four elements satisfy every ACPICA version's length check.
	 */
	aml_name(a, "_S5_");
	pkg = aml_package(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a, pkg);
}

/* Emits the DSDT at the next aligned offset; returns that offset or -ENOSPC. */
static long build_dsdt(struct layout *l, const struct acpi_platform *p)
{
	long off = take(l, HDR_LEN);
	struct aml a;

	if (off < 0)
		return off;
	aml_init(&a, l->buf + l->off, l->buflen - l->off);
	dsdt_body(&a, p);
	/* Inputs are validated up front, so the only way to fail here is running out of room. */
	if (a.failed || a.len > UINT32_MAX - HDR_LEN)
		return -ENOSPC;
	l->off += a.len;
	/* Revision 2: AML integers are 64 bits wide. */
	put_header(l->buf + off, "DSDT", (uint32_t)(HDR_LEN + a.len), 2);
	fix_checksum(l->buf + off, HDR_LEN + a.len, 9);
	return off;
}

static int check_platform(const struct acpi_platform *p)
{
	unsigned i;

	if (p->ncpus == 0 || p->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	/* The MADT's address fields are 32 bits; we emit no 64-bit override entry. */
	if (p->lapic_addr > UINT32_MAX || p->ioapic_addr > UINT32_MAX)
		return -EINVAL;
	if (p->serial_irq > 15 || p->n_mmio > ACPI_MAX_MMIO_DEVS ||
	    p->power_button_gsi >= ACPI_IOAPIC_PINS)
		return -EINVAL;
	for (i = 0; i < p->n_mmio; i++) {
		const struct acpi_mmio_dev *d = &p->mmio[i];

		/* Memory32Fixed: the whole window must lie below 4 GiB. */
		if (d->size == 0 || d->base > UINT32_MAX || d->size - 1 > UINT32_MAX - d->base)
			return -EINVAL;
	}
	return 0;
}

long acpi_build(uint8_t *buf, size_t buflen, uint64_t gpa, const struct acpi_platform *p)
{
	struct layout l = {.buf = buf, .buflen = buflen, .off = 0};
	long rsdp, xsdt, fadt, madt, dsdt;
	uint64_t entries[XSDT_NENTRIES];
	int err;

	if (!buf || !p)
		return -EINVAL;
	/* The RSDP sits at offset 0 and must be 16-byte aligned; no gpa + offset may wrap. */
	if (gpa % TABLE_ALIGN != 0 || buflen > LONG_MAX || buflen > UINT64_MAX - gpa)
		return -EINVAL;
	err = check_platform(p);
	if (err)
		return err;

	/* Every take() is bounds-checked before it writes, so -ENOSPC never writes past buflen. */
	if ((rsdp = take(&l, RSDP_LEN)) < 0 || (xsdt = take(&l, XSDT_LEN)) < 0 ||
	    (fadt = take(&l, FADT_LEN)) < 0 || (madt = take(&l, madt_len(p->ncpus))) < 0 ||
	    (dsdt = build_dsdt(&l, p)) < 0)
		return -ENOSPC;

	build_fadt(buf + fadt, gpa + (uint64_t)dsdt, p);
	build_madt(buf + madt, p);
	entries[0] = gpa + (uint64_t)fadt;
	entries[1] = gpa + (uint64_t)madt;
	build_xsdt(buf + xsdt, entries);
	build_rsdp(buf + rsdp, gpa + (uint64_t)xsdt);
	return (long)l.off;
}
