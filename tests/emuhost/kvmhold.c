/* kvmhold: keeps KVM's global switches in the emulated host set for its whole run (README, "hangs"). */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_DEFAULT_BASE 0xfee00000ULL /* without bit 11: the local APIC disabled */

/*
 * KVM in the emulated host patches kernel text live (static keys: int3 on the site, IPIs to every
 * CPU) whenever a count goes 0 -> 1 or back: VMs alive (the scheduler's preempt notifiers, and
 * SVM switched on per CPU), vCPUs whose local APIC is disabled by software (every vCPU until its
 * guest enables it) or by hardware, vCPUs without an in-kernel APIC. Under TCG such patching,
 * while another CPU runs a guest, sometimes hangs the emulated host or overflows a vCPU thread's
 * kernel stack. Holding one of each here keeps every count above zero, so test VMs coming and
 * going never patch anything.
 */
static int must(int r, const char *what)
{
	if (r < 0) {
		perror(what);
		exit(1);
	}
	return r;
}

int main(void)
{
	int kvm = must(open("/dev/kvm", O_RDWR | O_CLOEXEC), "kvmhold: open /dev/kvm");
	int plain = must(ioctl(kvm, KVM_CREATE_VM, 0), "kvmhold: KVM_CREATE_VM");
	int apic = must(ioctl(kvm, KVM_CREATE_VM, 0), "kvmhold: KVM_CREATE_VM");
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} base = {.hdr.nmsrs = 1, .e = {.index = MSR_IA32_APICBASE, .data = APIC_DEFAULT_BASE}};
	int vcpu;

	must(ioctl(plain, KVM_CREATE_VCPU, 0), "kvmhold: KVM_CREATE_VCPU (no irqchip)");
	must(ioctl(apic, KVM_CREATE_IRQCHIP, 0), "kvmhold: KVM_CREATE_IRQCHIP");
	vcpu = must(ioctl(apic, KVM_CREATE_VCPU, 0), "kvmhold: KVM_CREATE_VCPU");
	if (ioctl(vcpu, KVM_SET_MSRS, &base) != 1)
		fprintf(stderr, "kvmhold: cannot disable the held vCPU's local APIC\n");
	for (;;)
		pause();
}
