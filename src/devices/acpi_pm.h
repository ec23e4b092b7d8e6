/* acpi_pm.h: the hardware-reduced ACPI sleep control and status registers (guest poweroff). */
#ifndef BULWARK_ACPI_PM_H
#define BULWARK_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

/* Two byte-wide I/O ports the FADT names: sleep control, then sleep status. */
#define ACPI_PM_SLEEP_CTL_PORT 0x3c0
#define ACPI_PM_SLEEP_STS_PORT 0x3c1
#define ACPI_PM_NPORTS 2

typedef void (*acpi_pm_poweroff_fn)(void *opaque);

struct acpi_pm {
	acpi_pm_poweroff_fn poweroff;
	void *opaque;
	unsigned long ignored; /* sleep requests other than S5 */
};

/* The bus handler for both ports. */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
