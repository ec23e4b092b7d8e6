/* i8042.h: just enough of the PC keyboard controller for a guest to reset the machine. */
#ifndef BULWARK_I8042_H
#define BULWARK_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_CMD_RESET 0xfe /* pulse the CPU reset line */

/* Called when the guest pulses the reset line. */
typedef void (*i8042_reset_fn)(void *opaque);

struct i8042 {
	i8042_reset_fn reset;
	void *opaque;
};

/* Bus handlers: register i8042_data_io on port 0x60 and i8042_cmd_io on 0x64. */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
