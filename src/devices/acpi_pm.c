/* acpi_pm.c: the hardware-reduced ACPI sleep control and status registers (guest poweroff). */
#include "devices/acpi_pm.h"

#include "util/log.h"
#include "x86/acpi.h"

#include <string.h>

void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint8_t v = data[0];

	if (!is_write) {
		/* Sleep status: no wake event pending. */
		memset(data, 0, len);
		return;
	}
	if (offset != 0 || !(v & ACPI_SLP_EN))
		return;
	if (((v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP) {
		if (pm->poweroff)
			pm->poweroff(pm->opaque);
		return;
	}
	/* S1-S4 are not offered in the DSDT; a guest asking anyway is ignored. */
	if (__atomic_add_fetch(&pm->ignored, 1, __ATOMIC_RELAXED) == 1)
		log_warn("guest asked for sleep type %u, which bulwark does not offer; ignored",
			 (v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT);
}
