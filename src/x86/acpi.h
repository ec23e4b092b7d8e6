/* acpi.h: the ACPI tables bulwark gives its guest (RSDP, XSDT, hardware-reduced FADT, MADT, DSDT). */
#ifndef BULWARK_ACPI_H
#define BULWARK_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_MMIO_DEVS 32

/* A virtio-mmio device as the DSDT describes it: _HID "LNRO0005", its window and interrupt. */
struct acpi_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_platform {
	unsigned ncpus;		 /* LAPIC ids 0 .. ncpus-1 */
	uint64_t lapic_addr;	 /* 0xfee00000 */
	uint64_t ioapic_addr;	 /* 0xfec00000 */
	uint8_t ioapic_id;	 /* after the last LAPIC id */
	uint16_t sleep_ctl_port; /* FADT SLEEP_CONTROL_REG, one byte, I/O space */
	uint16_t sleep_sts_port; /* FADT SLEEP_STATUS_REG, one byte, I/O space */
	uint16_t serial_port;	 /* 0x3f8, described as PNP0501 */
	uint8_t serial_irq;	 /* 4 */
	/* The Generic Event Device's interrupt, which presses the power button; 0: neither. */
	uint8_t power_button_gsi;
	unsigned n_mmio;
	struct acpi_mmio_dev mmio[ACPI_MAX_MMIO_DEVS];
};

/* The S5 sleep type the DSDT's \_S5_ announces; the guest writes (S5 << 2) | SLP_EN to sleep control. */
#define ACPI_S5_SLP_TYP 5
#define ACPI_SLP_EN 0x20
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1c

/* IOAPIC pins KVM's in-kernel IOAPIC has: the highest GSI a power button may use is one less. */
#define ACPI_IOAPIC_PINS 24
/* Notify value for a power button: "button pressed" (ACPI 6.5 table 5.187). */
#define ACPI_NOTIFY_BUTTON_PRESSED 0x80

/*
 * Lays the tables out in BUF, which the guest will see at guest-physical address GPA, with the
 * RSDP first (so GPA in 0xe0000..0xfffff also satisfies a legacy RSDP scan). Returns the bytes
 * used, or -ENOSPC / -EINVAL. Every checksum and length is filled in.
 */
long acpi_build(uint8_t *buf, size_t buflen, uint64_t gpa, const struct acpi_platform *p);

#endif
