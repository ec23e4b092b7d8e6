/* vcpu_driver.h: a pretend VM for the vCPU's tests: it records every access and stop request a
 * vCPU hands it, and scripts KVM_RUN's exits on the scripted KVM (fake_kvm_core.h). Included by
 * one test file each, after cmocka.h. */
#ifndef BULWARK_VCPU_DRIVER_H
#define BULWARK_VCPU_DRIVER_H

#include "fake_kvm_core.h"
#include "kvm/vcpu.h"

#include <fcntl.h>

#define DATA_OFFSET 3072 /* where this fake's port I/O data lives in the kvm_run page */
_Static_assert(sizeof(struct kvm_run) <= DATA_OFFSET, "I/O data must not overlap kvm_run");

struct access {
	uint64_t addr;
	uint32_t len;
	bool is_write;
	uint8_t data[8];
};

/* The pretend VM: what the vCPU handed it. Reads answer 0xa0 + 0x10 * call + byte index. */
static struct {
	struct access pio[8], mmio[8];
	unsigned npio, nmmio;
	enum vcpu_stop stops[4];
	unsigned nstops;
	bool stopping;
} vm;

static inline void record(struct access *a, uint64_t addr, uint8_t *data, uint32_t len,
			  bool is_write, unsigned call)
{
	assert_in_range(len, 1, 8);
	*a = (struct access){.addr = addr, .len = len, .is_write = is_write};
	if (!is_write)
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xa0 + 0x10 * call + i);
	memcpy(a->data, data, len);
}

static inline void vm_pio(void *opaque, uint16_t port, uint8_t *data, uint32_t len, bool is_write)
{
	assert_ptr_equal(opaque, &vm);
	assert_in_range(vm.npio, 0, 7);
	record(&vm.pio[vm.npio], port, data, len, is_write, vm.npio);
	vm.npio++;
}

static inline void vm_mmio(void *opaque, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	assert_ptr_equal(opaque, &vm);
	assert_in_range(vm.nmmio, 0, 7);
	record(&vm.mmio[vm.nmmio], addr, data, len, is_write, vm.nmmio);
	vm.nmmio++;
}

static inline void vm_stop(void *opaque, enum vcpu_stop why)
{
	assert_ptr_equal(opaque, &vm);
	assert_in_range(vm.nstops, 0, 3);
	vm.stops[vm.nstops++] = why;
	__atomic_store_n(&vm.stopping, true, __ATOMIC_RELEASE);
}

static inline bool vm_stopping(void *opaque)
{
	assert_ptr_equal(opaque, &vm);
	return __atomic_load_n(&vm.stopping, __ATOMIC_ACQUIRE);
}

/* KVM_RUN's script: one exit (or errno) per call; past its end the VM is stopping and KVM_RUN
 * returns EINTR, as after a kick. */
static struct {
	struct kvm_run run;
	uint8_t data[64];
	int err;
} script[8];
static unsigned nscript;

static inline int scripted(struct kvm_run *run, unsigned n)
{
	if (n >= nscript) {
		__atomic_store_n(&vm.stopping, true, __ATOMIC_RELEASE);
		errno = EINTR;
		return -1;
	}
	if (script[n].err) {
		errno = script[n].err;
		return -1;
	}
	memcpy(run, &script[n].run, sizeof(*run));
	if (run->exit_reason == KVM_EXIT_IO && run->io.data_offset == DATA_OFFSET)
		memcpy((uint8_t *)run + DATA_OFFSET, script[n].data, sizeof(script[n].data));
	return 0;
}

static struct kvm_run *add_exit(uint32_t reason)
{
	assert_in_range(nscript, 0, 7);
	script[nscript].run = (struct kvm_run){.exit_reason = reason};
	return &script[nscript++].run;
}

static inline void add_errno(int err)
{
	assert_in_range(nscript, 0, 7);
	script[nscript++].err = err;
}

static inline void add_io(uint8_t dir, uint8_t size, uint16_t port, uint32_t count,
			  const void *data)
{
	struct kvm_run *r = add_exit(KVM_EXIT_IO);

	r->io.direction = dir;
	r->io.size = size;
	r->io.port = port;
	r->io.count = count;
	r->io.data_offset = DATA_OFFSET;
	if (data)
		memcpy(script[nscript - 1].data, data, (size_t)size * count);
}

static inline void add_mmio(uint64_t addr, uint32_t len, bool is_write, const void *data)
{
	struct kvm_run *r = add_exit(KVM_EXIT_MMIO);

	r->mmio.phys_addr = addr;
	r->mmio.len = len;
	r->mmio.is_write = is_write;
	if (data)
		memcpy(r->mmio.data, data, len);
}

static int dev = -1;
static struct vcpu v;
static struct kvm_cpuid2 *table;

static inline struct vcpu_host host(void)
{
	return (struct vcpu_host){
	    .vm_fd = dev,
	    .run_size = FK_RUN_SIZE,
	    .opaque = &vm,
	    .pio = vm_pio,
	    .mmio = vm_mmio,
	    .stop = vm_stop,
	    .stopping = vm_stopping,
	};
}

static inline int setup(void **state)
{
	struct vcpu_host h;
	const char *why = NULL;

	(void)state;
	fk_reset();
	memset(&vm, 0, sizeof(vm));
	memset(script, 0, sizeof(script));
	nscript = 0;
	fk.run_fn = scripted;
	dev = open("/dev/null", O_RDWR | O_CLOEXEC);
	table = calloc(1, sizeof(*table) + 3 * sizeof(table->entries[0]));
	if (dev < 0 || !table)
		return -1;
	table->nent = 3;
	table->entries[1].function = 0xb;
	h = host();
	return vcpu_create(&v, &h, 0, table, &why);
}

static inline int teardown(void **state)
{
	(void)state;
	vcpu_destroy(&v);
	free(table);
	close(dev);
	fk_reset();
	return 0;
}

/* Runs the script to its end; the vCPU then sees the VM stopping and returns. */
static inline void run_script(void)
{
	vcpu_run(&v);
	assert_true(vm.stopping);
}

static inline void assert_no_stop(void)
{
	assert_int_equal(vm.nstops, 0);
	assert_int_equal(fk.runs, nscript + 1); /* every exit, then the EINTR that ends it */
}

static inline void assert_stopped(enum vcpu_stop why, unsigned runs)
{
	assert_int_equal(vm.nstops, 1);
	assert_int_equal(vm.stops[0], why);
	assert_int_equal(fk.runs, runs); /* the loop ended right there */
}

#endif
