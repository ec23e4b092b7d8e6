/* test_virtio_blk.c: virtio-blk requests as a driver sends them: read, write, flush, get_id,
 * config, open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "blk_driver.h"
#include "config/config.h"

/* Asserts LEN bytes at guest DATA equal the image's bytes from sector SECTOR on. */
static void assert_image_at(struct drv *d, uint64_t data, uint64_t sector, uint32_t len)
{
	const uint8_t *p = gpa(d, data);

	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(p[i], img_byte(sector * VIRTIO_BLK_SECTOR + i));
}

static void read_returns_the_image(void **state)
{
	struct drv *d = *state;
	uint32_t id, len;
	uint16_t head;

	memset(gpa(d, DATA_GPA), 0xaa, 4096);
	head = drv_req(d, 0, VIRTIO_BLK_T_IN, 3, DATA_GPA, 2048, true);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_image_at(d, DATA_GPA, 3, 2048);
	assert_int_equal(*gpa(d, DATA_GPA + 2048), 0xaa); /* not one byte more */
	assert_int_equal(drv_used_idx(d), 1);
	drv_used(d, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 2049); /* data and status */
	assert_int_equal(drv_interrupts(d), 1);
	assert_false(drv_failed(d));
}

static void write_reaches_the_image(void **state)
{
	struct drv *d = *state;
	uint8_t back[1024];

	for (int i = 0; i < 1024; i++)
		gpa(d, DATA_GPA)[i] = (uint8_t)(i ^ 0x5a);
	drv_req(d, 0, VIRTIO_BLK_T_OUT, 10, DATA_GPA, 1024, false);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(d->img, back, sizeof(back), 10 * 512), (ssize_t)sizeof(back));
	assert_memory_equal(back, gpa(d, DATA_GPA), sizeof(back));

	/* And the guest reads back what it wrote. */
	memset(gpa(d, DATA_GPA + 4096), 0, 1024);
	drv_req(d, 1, VIRTIO_BLK_T_IN, 10, DATA_GPA + 4096, 1024, true);
	drv_kick(d);
	assert_int_equal(drv_status(d, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(d, DATA_GPA + 4096), gpa(d, DATA_GPA), 1024);
}

static void last_sector_is_served(void **state)
{
	struct drv *d = *state;

	drv_req(d, 0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, DATA_GPA, 512, true);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_image_at(d, DATA_GPA, IMG_SECTORS - 1, 512);
}

static void flush_succeeds(void **state)
{
	struct drv *d = *state;

	drv_req(d, 0, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 512, false);
	drv_req(d, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_status(d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_used_idx(d), 2);
}

/* A host descriptor every I/O call fails on proves that flush reaches fdatasync, and that a host
 * failure is an I/O error for the guest, not a crash or a hang. */
static void host_failures_are_io_errors(void **state)
{
	struct drv *d = *state;
	int p[2];

	assert_int_equal(pipe(p), 0);
	close(p[1]);
	assert_int_equal(drv_attach(d, virtio_blk_new(p[0], IMG_BYTES, false, "pipe")), 0);
	drv_req(d, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	drv_req(d, 1, VIRTIO_BLK_T_IN, 0, DATA_GPA, 512, true);
	drv_req(d, 2, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 512, false);
	drv_kick(d);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(drv_status(d, k), VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_used_idx(d), 3);
	assert_false(drv_failed(d));
}

static void get_id_returns_the_serial(void **state)
{
	struct drv *d = *state;
	uint8_t want[VIRTIO_BLK_ID_BYTES] = "bulwark-disk";
	uint32_t id, len;

	memset(gpa(d, DATA_GPA), 0xcc, 64);
	drv_req(d, 0, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, VIRTIO_BLK_ID_BYTES, true);
	/* A buffer shorter than 20 bytes gets what fits, and nothing past it. */
	drv_req(d, 1, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA + 32, 4, true);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(d, DATA_GPA), want, sizeof(want)); /* zero padded */
	drv_used(d, 0, &id, &len);
	assert_int_equal(len, VIRTIO_BLK_ID_BYTES + 1);
	assert_int_equal(drv_status(d, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(d, DATA_GPA + 32), "bulw", 4);
	assert_int_equal(*gpa(d, DATA_GPA + 36), 0xcc);
}

static void serial_of_twenty_bytes_is_whole(void **state)
{
	struct drv *d = *state;
	const char *serial = "0123456789abcdefghijKLMN"; /* only the first 20 bytes count */

	assert_int_equal(drv_attach(d, virtio_blk_new(dup(d->img), IMG_BYTES, false, serial)), 0);
	memset(gpa(d, DATA_GPA), 0xcc, 64);
	drv_req(d, 0, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 64, true);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(d, DATA_GPA), serial, 20);
	assert_int_equal(*gpa(d, DATA_GPA + 20), 0xcc);
}

/* Buffers may split and merge the parts anywhere (2.6.4, message framing). */
static void any_buffer_layout(void **state)
{
	struct drv *d = *state;
	uint8_t *hdr = gpa(d, DATA_GPA);
	uint32_t type = VIRTIO_BLK_T_OUT, zero = 0;
	uint64_t sector = 20;

	/* A write whose header and data share one buffer. */
	memcpy(hdr, &type, 4);
	memcpy(hdr + 4, &zero, 4);
	memcpy(hdr + 8, &sector, 8);
	for (int i = 0; i < 1024; i++)
		hdr[16 + i] = (uint8_t)(i * 13);
	struct seg w[] = {
	    {DATA_GPA, 16 + 700, false}, {DATA_GPA + 716, 324, false}, {STATUS_GPA, 1, true}};
	drv_post(d, w, 3);
	/* A read into three uneven buffers, the status byte sharing the last one. */
	drv_hdr(d, 1, VIRTIO_BLK_T_IN, 20);
	memset(gpa(d, DATA_GPA + 8192), 0, 2048);
	struct seg r[] = {{HDR_GPA + 16, 16, false},
			  {DATA_GPA + 8192, 100, true},
			  {DATA_GPA + 8192 + 100, 412, true},
			  {DATA_GPA + 8192 + 512, 513, true}};
	drv_post(d, r, 4);
	drv_kick(d);
	assert_int_equal(*gpa(d, STATUS_GPA), VIRTIO_BLK_S_OK);
	assert_int_equal(*gpa(d, DATA_GPA + 8192 + 1024), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(d, DATA_GPA + 8192), hdr + 16, 1024);
}

static void indirect_read(void **state)
{
	struct drv *d = *state;
	struct seg s[] = {{HDR_GPA, 16, false},
			  {DATA_GPA, 512, true},
			  {DATA_GPA + 4096, 512, true},
			  {STATUS_GPA, 1, true}};

	drv_hdr(d, 0, VIRTIO_BLK_T_IN, 7);
	drv_post_indirect(d, s, 4);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_image_at(d, DATA_GPA, 7, 512);
	assert_image_at(d, DATA_GPA + 4096, 8, 512);
}

/* A batch is answered with one interrupt, and the device asks to be notified when it idles. */
static void batch_gets_one_interrupt(void **state)
{
	struct drv *d = *state;
	uint16_t flags;

	for (unsigned k = 0; k < 5; k++)
		drv_req(d, k, VIRTIO_BLK_T_IN, k, DATA_GPA + 512 * k, 512, true);
	drv_kick(d);
	assert_int_equal(drv_used_idx(d), 5);
	for (unsigned k = 0; k < 5; k++)
		assert_int_equal(drv_status(d, k), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_interrupts(d), 1);
	memcpy(&flags, gpa(d, USED_GPA), 2);
	assert_int_equal(flags & VRING_USED_F_NO_NOTIFY, 0);
	/* A notification with nothing new is no interrupt. */
	drv_kick(d);
	assert_int_equal(drv_interrupts(d), 1);
}

/* A full queue is one round: the device reschedules itself only when the guest re-posts. */
static void full_queue_is_one_round(void **state)
{
	struct drv *d = *state;
	struct seg s[] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};
	uint64_t kicks;

	drv_hdr(d, 0, VIRTIO_BLK_T_FLUSH, 0);
	for (unsigned k = 0; k < d->qsize; k++)
		drv_post_indirect(d, s, 2);
	drv_kick(d);
	assert_int_equal(drv_used_idx(d), d->qsize);
	assert_int_equal(drv_interrupts(d), 1);
	assert_int_equal(read(d->t.notify_fd[0], &kicks, 8), -1);
	assert_int_equal(errno, EAGAIN);
}

static void config_and_features(void **state)
{
	struct drv *d = *state;
	uint64_t f = drv_device_features(d);

	assert_int_equal(drv_config(d, VIRTIO_BLK_CFG_CAPACITY, 8), IMG_SECTORS);
	assert_int_equal(drv_config(d, VIRTIO_BLK_CFG_CAPACITY, 4),
			 IMG_SECTORS); /* 32-bit halves */
	assert_int_equal(drv_config(d, VIRTIO_BLK_CFG_CAPACITY + 4, 4), 0);
	assert_int_equal(drv_config(d, VIRTIO_BLK_CFG_SEG_MAX, 4), VQ_CHAIN_MAX - 2);
	assert_int_equal(drv_config(d, VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_int_equal(virtio_blk_ops.config_size, VIRTIO_BLK_CFG_SIZE);
	assert_int_equal(virtio_blk_ops.nqueues, 1);
}

static void read_only_offers_ro_and_still_reads(void **state)
{
	struct drv *d = *state;

	assert_true(drv_device_features(d) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	drv_req(d, 0, VIRTIO_BLK_T_IN, 1, DATA_GPA, 512, true);
	drv_req(d, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	drv_kick(d);
	assert_int_equal(drv_status(d, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_status(d, 1), VIRTIO_BLK_S_OK);
	assert_image_at(d, DATA_GPA, 1, 512);
}

/* virtio_blk_open(): the image named by the config, and refusals naming the item. */
struct open_case {
	char dir[64], path[96];
	struct vm_config cfg;
	struct bw_error err;
};

static void open_prepare(struct open_case *c, off_t size, bool read_only)
{
	int fd;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/bulwark-blk-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/disk.img", c->dir);
	if (size >= 0) {
		fd = open(c->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, size), 0);
		close(fd);
	}
	c->cfg.path = "vm.yaml";
	c->cfg.ndisks = 2;
	c->cfg.disks[1].path = c->path;
	c->cfg.disks[1].read_only = read_only;
	c->cfg.disks[1].loc_path = (struct config_loc){7, 11};
	memcpy(c->cfg.disks[1].serial, "disk1", 6);
}

/* As vm_devices_open() opens disks[1]: its refusal placed at the item's path in the config. */
static struct virtio_blk *open_disk(struct open_case *c)
{
	struct virtio_blk *b = virtio_blk_open(&c->cfg.disks[1], &c->err);

	if (!b)
		config_disk_error(&c->cfg, 1, &c->err);
	return b;
}

static void open_cleanup(struct open_case *c)
{
	unlink(c->path);
	rmdir(c->dir);
}

static void open_refusal(off_t size, const char *what)
{
	struct open_case c;
	char want[256];

	open_prepare(&c, size, false);
	assert_null(open_disk(&c));
	snprintf(want, sizeof(want), "vm.yaml:7:11: disks[1].path: cannot open %s: %s", c.path,
		 what);
	assert_string_equal(c.err.msg, want);
	open_cleanup(&c);
}

static void open_refuses_bad_images(void **state)
{
	(void)state;
	open_refusal(-1, "No such file or directory");
	open_refusal(0, "the image is empty");
	open_refusal(1000, "its size is not a multiple of 512 bytes");
}

static void open_refuses_other_files(void **state)
{
	struct open_case c;

	(void)state;
	open_prepare(&c, 512, false);
	c.cfg.disks[1].path = "/dev/null";
	assert_null(open_disk(&c));
	assert_non_null(strstr(c.err.msg, "cannot open /dev/null: not a regular file or block"));
	open_cleanup(&c);
}

/* Two writers on one image would corrupt it; readers may share it. */
static void open_locks_the_image(void **state)
{
	struct open_case c;
	struct virtio_blk *a, *b;
	uint8_t cap[8];

	(void)state;
	open_prepare(&c, 4096, false);
	a = open_disk(&c);
	assert_non_null(a);
	assert_null(open_disk(&c));
	assert_non_null(strstr(c.err.msg, "disks[1].path: cannot open"));
	assert_non_null(strstr(c.err.msg, "in use by another process"));
	virtio_blk_ops.destroy(a);
	c.cfg.disks[1].read_only = true;
	a = open_disk(&c);
	b = open_disk(&c);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(virtio_blk_ops.features(a) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	virtio_blk_ops.config_read(a, VIRTIO_BLK_CFG_CAPACITY, cap, 8);
	assert_int_equal(cap[0], 8); /* 4096 bytes */
	virtio_blk_ops.destroy(a);
	virtio_blk_ops.destroy(b);
	open_cleanup(&c);
}

static void new_refuses_bad_sizes(void **state)
{
	(void)state;
	assert_null(virtio_blk_new(memfd_create("x", MFD_CLOEXEC), 0, false, "x"));
	assert_int_equal(errno, EINVAL);
	assert_null(virtio_blk_new(memfd_create("x", MFD_CLOEXEC), 513, false, "x"));
	assert_null(virtio_blk_new(-1, 512, false, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(read_returns_the_image, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(write_reaches_the_image, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(last_sector_is_served, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(flush_succeeds, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(host_failures_are_io_errors, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(get_id_returns_the_serial, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(serial_of_twenty_bytes_is_whole, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(any_buffer_layout, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(indirect_read, setup_indirect, teardown),
	    cmocka_unit_test_setup_teardown(batch_gets_one_interrupt, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(full_queue_is_one_round, setup_indirect, teardown),
	    cmocka_unit_test_setup_teardown(config_and_features, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(read_only_offers_ro_and_still_reads, setup_ro,
					    teardown),
	    cmocka_unit_test(open_refuses_bad_images),
	    cmocka_unit_test(open_refuses_other_files),
	    cmocka_unit_test(open_locks_the_image),
	    cmocka_unit_test(new_refuses_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
