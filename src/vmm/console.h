/* console.h: the host terminal as the guest's serial console: raw mode, input, escape key. */
#ifndef BULWARK_CONSOLE_H
#define BULWARK_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ctrl-A then 'x' quits bulwark; Ctrl-A twice sends one Ctrl-A to the guest. */
#define CONSOLE_ESCAPE 0x01
#define CONSOLE_QUIT_KEY 'x'

struct console {
	int in_fd;
	bool interactive; /* IN_FD is a terminal: put in raw mode and forwarded */
	bool escape;	  /* the last byte was the escape key */
};

/*
 * Takes over IN_FD when it is a terminal: raw mode, restored by console_restore() on every exit
 * path (also from fatal signals and exit()). A non-terminal IN_FD is left alone and not read.
 */
int console_init(struct console *c, int in_fd);

/* Puts the terminal back as it was; idempotent and async-signal-safe. */
void console_restore(void);

/*
 * Applies the escape key to N bytes of terminal input, writing what goes to the guest to OUT
 * (at most N bytes). Sets *QUIT when the quit sequence was typed. Returns the bytes in OUT.
 */
size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out, bool *quit);

#endif
