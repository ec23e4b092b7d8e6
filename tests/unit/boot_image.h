/* boot_image.h: a synthetic bzImage for the x86 boot tests: a boot header and a recognisable
 * protected-mode payload. Include after cmocka.h. */
#ifndef BULWARK_TEST_BOOT_IMAGE_H
#define BULWARK_TEST_BOOT_IMAGE_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ULL * 1024)
#define GiB (1024 * MiB)
#define HDR_OFFSET 0x1f1
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD (64 * 1024)
#define IMAGE_LEN (SETUP_SIZE + PAYLOAD)
#define CMDLINE_SIZE 2047

/* A synthetic bzImage: a boot header and a recognisable protected-mode payload. */
struct image {
	uint8_t *buf;
	size_t len;
};

static inline struct setup_header good_hdr(void)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = SETUP_SECTS;
	h.syssize = PAYLOAD / 16;
	h.boot_flag = 0xaa55;
	h.jump = 0x6aeb; /* "jmp 0x26c": the header runs to the end of struct setup_header */
	h.header = 0x53726448;
	h.version = 0x20f;
	h.loadflags = LOADED_HIGH;
	h.xloadflags = XLF_KERNEL_64;
	h.pref_address = 16 * MiB;
	h.init_size = 4 * MiB;
	h.kernel_alignment = 2 * MiB;
	h.relocatable_kernel = 1;
	h.initrd_addr_max = 0x7fffffff;
	h.cmdline_size = CMDLINE_SIZE;
	return h;
}

static inline struct image make_image(const struct setup_header *h, size_t len)
{
	struct image im = {calloc(1, len), len};

	assert_non_null(im.buf);
	for (size_t i = SETUP_SIZE; i < len; i++)
		im.buf[i] = (uint8_t)(i * 31 + 7);
	if (len >= HDR_OFFSET + sizeof(*h))
		memcpy(im.buf + HDR_OFFSET, h, sizeof(*h));
	return im;
}

#endif
