/* boot_files.h: the kernel and initrd a config names, mapped read-only and checked before boot. */
#ifndef BULWARK_BOOT_FILES_H
#define BULWARK_BOOT_FILES_H

#include "config/config.h"
#include "x86/x86_boot.h"

#include <stddef.h>
#include <stdint.h>

struct boot_files {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL without initrd */
	size_t initrd_len;
	struct boot_plan plan;
};

/*
 * Opens and maps the kernel and initrd of CFG and plans their place in its memory. Returns 0, or
 * -1 with ERR as "CONFIG:LINE:COLUMN: kernel: FILE: reason".
 */
int boot_files_open(const struct vm_config *cfg, struct boot_files *f, struct bw_error *err);
void boot_files_close(struct boot_files *f);

#endif
