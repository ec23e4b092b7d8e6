/* boot_regs.h: the boot vCPU's registers as the Linux x86-64 boot protocol asks for them. */
#ifndef BULWARK_BOOT_REGS_H
#define BULWARK_BOOT_REGS_H

#include <stdint.h>

/*
 * Puts vCPU VCPU_FD in long mode with paging on (the page tables at BOOT_PML4_ADDR), flat
 * segments from the GDT at BOOT_GDT_ADDR, RIP at ENTRY and RSI at ZERO_PAGE, as x86_boot_load()
 * laid them out. Returns 0 or -errno.
 */
int x86_boot_set_regs(int vcpu_fd, uint64_t entry, uint64_t zero_page);

#endif
