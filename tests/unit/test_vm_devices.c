/* test_vm_devices.c: the VM's device table: placement, ACPI, cmdline form, cleanup on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "vmm/vm_devices.h"

static struct vm_config cfg;
static struct vm_devices vd;
static struct bw_error err;
static char cmdline[] = "console=ttyS0 pci=off";
static char path[] = "vm.yaml";

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&err, 0, sizeof(err));
	cfg.path = path;
	cfg.cmdline = cmdline;
	cfg.rng = true;
	cfg.loc_virtio_cmdline = (struct config_loc){.line = 7, .column = 17};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vm_devices_destroy(&vd);
	return 0;
}

static void test_rng_placed(void **state)
{
	struct acpi_platform p = {.n_mmio = 0};

	(void)state;
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, 2047, &err), 0);
	assert_int_equal(vd.n, 1);
	assert_string_equal(vd.d[0].name, "rng");
	assert_int_equal(vd.d[0].base, VM_VIRTIO_BASE);
	assert_int_equal(vd.d[0].gsi, 16);
	assert_string_equal(vd.cmdline, cmdline); /* no cmdline form unless asked */
	vm_devices_describe(&vd, &p);
	assert_int_equal(p.n_mmio, 1);
	assert_int_equal(p.mmio[0].base, VM_VIRTIO_BASE);
	assert_int_equal(p.mmio[0].size, VIRTIO_MMIO_WINDOW);
	assert_int_equal(p.mmio[0].gsi, 16);
}

static void test_no_devices(void **state)
{
	struct acpi_platform p = {.n_mmio = 0};

	(void)state;
	cfg.rng = false;
	cfg.virtio_cmdline = true;
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, 2047, &err), 0);
	assert_int_equal(vd.n, 0);
	assert_string_equal(vd.cmdline, cmdline);
	vm_devices_describe(&vd, &p);
	assert_int_equal(p.n_mmio, 0);
}

static void test_cmdline_form(void **state)
{
	(void)state;
	cfg.virtio_cmdline = true;
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, 2047, &err), 0);
	assert_string_equal(vd.cmdline,
			    "console=ttyS0 pci=off virtio_mmio.device=0x200@0xd0000000:16");
}

/* One byte short of what the entries need: a config refusal naming virtio_cmdline. */
static void test_cmdline_too_long(void **state)
{
	size_t need = strlen("console=ttyS0 pci=off virtio_mmio.device=0x200@0xd0000000:16");

	(void)state;
	cfg.virtio_cmdline = true;
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, need - 1, &err), -1);
	if (!strstr(err.msg, "vm.yaml:7:17: virtio_cmdline: "))
		fail_msg("refusal does not name the item: %s", err.msg);
	vm_devices_destroy(&vd);
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, need, &err), 0);
}

/* Without KVM, attaching gets as far as the MMIO window and fails at KVM_IOEVENTFD; the window
 * already answers, and destroy frees what was opened (ASan's leak check watches). */
static void test_attach_failure_cleans_up(void **state)
{
	struct kvm kvm = {.dev_fd = -1, .vm_fd = -1};
	struct guest_mem mem = {0};
	struct bus mmio;
	struct bw_error attach_err = {0};
	uint32_t magic = 0;

	(void)state;
	bus_init(&mmio, "mmio");
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, 2047, &err), 0);
	assert_int_equal(vm_devices_attach(&vd, &kvm, &mmio, &mem, &attach_err), -EBADF);
	assert_non_null(strstr(attach_err.msg, "KVM_IOEVENTFD failed"));
	assert_true(vd.d[0].attached);
	assert_true(bus_access(&mmio, VM_VIRTIO_BASE, (uint8_t *)&magic, 4, false));
	assert_int_equal(magic, VIRTIO_MMIO_MAGIC);
	assert_false(
	    bus_access(&mmio, VM_VIRTIO_BASE + VIRTIO_MMIO_WINDOW, (uint8_t *)&magic, 4, false));
}

/* Disks come first, in config order, then the rng; a missing image is refused, naming it, and
 * what was opened before it is freed by destroy (ASan's leak check watches). */
static void test_disks_then_rng(void **state)
{
	char img[2][32] = {"/tmp/test_vm_devices.XXXXXX", "/tmp/test_vm_devices.XXXXXX"};
	char missing[] = "/nonexistent/disk.img";

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		int fd = mkstemp(img[i]);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
		close(fd);
	}
	cfg.ndisks = 2;
	cfg.disks[0].path = img[0];
	cfg.disks[1].path = img[1];
	cfg.disks[1].read_only = true;
	cfg.virtio_cmdline = true;
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, 2047, &err), 0);
	assert_int_equal(vd.n, 3);
	assert_string_equal(vd.d[0].name, "blk0");
	assert_string_equal(vd.d[1].name, "blk1");
	assert_string_equal(vd.d[2].name, "rng");
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vd.d[i].base, VM_VIRTIO_BASE + i * VM_VIRTIO_STRIDE);
		assert_int_equal(vd.d[i].gsi, 16 + i);
	}
	assert_non_null(strstr(vd.cmdline, " virtio_mmio.device=0x200@0xd0001000:17 "));
	vm_devices_destroy(&vd);

	cfg.disks[1].path = missing;
	cfg.disks[1].loc_path = (struct config_loc){.line = 9, .column = 11};
	assert_int_equal(vm_devices_open(&vd, &cfg, NULL, 2047, &err), -1);
	if (!strstr(err.msg, "vm.yaml:9:11: disks[1].path: "))
		fail_msg("refusal does not name the disk: %s", err.msg);
	assert_int_equal(vd.n, 1);
	unlink(img[0]);
	unlink(img[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rng_placed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cmdline_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cmdline_too_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attach_failure_cleans_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disks_then_rng, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
