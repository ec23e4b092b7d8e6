/* i8042.c: just enough of the PC keyboard controller for a guest to reset the machine (reboot=k). */
#include "devices/i8042.h"

#include <string.h>

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)offset;
	/* No keyboard is attached: there is never data to read. */
	if (!is_write)
		memset(data, 0, len);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;

	(void)offset;
	if (!is_write) {
		/* Status 0: output buffer empty, input buffer empty, so a waiting guest never spins. */
		memset(data, 0, len);
		return;
	}
	if (data[0] == I8042_CMD_RESET && k->reset)
		k->reset(k->opaque);
}
