/* boot_regs.c: the boot vCPU's registers as the Linux x86-64 boot protocol asks for them. */
#include "x86/boot_regs.h"

#include "x86/x86_boot.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <sys/ioctl.h>

#define X86_CR0_PE 0x1ULL
#define X86_CR0_MP 0x2ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_WP 0x10000ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = code ? 0 : 1,
	    .s = 1,
	    .l = code ? 1 : 0,
	    .g = 1,
	};
}

/* The state the 64-bit boot protocol asks for: long mode, paging on, flat segments. */
int x86_boot_set_regs(int vcpu_fd, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = entry, .rsi = zero_page, .rflags = 0x2};
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s))
		return -errno;
	s.cs = flat_segment(BOOT_CS, 0xb, true);
	s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(BOOT_DS, 0x3, false);
	s.tr = (struct kvm_segment){
	    .base = 0, .limit = 0xfffff, .selector = BOOT_TSS, .type = 0xb, .present = 1};
	s.gdt.base = BOOT_GDT_ADDR;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s.cr3 = BOOT_PML4_ADDR;
	s.cr4 = X86_CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) || ioctl(vcpu_fd, KVM_SET_REGS, &r) ||
	    ioctl(vcpu_fd, KVM_SET_FPU, &fpu))
		return -errno;
	return 0;
}
