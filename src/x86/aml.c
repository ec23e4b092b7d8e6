/* aml.c: the AML byte encoder behind the DSDT; encodings follow ACPI 6.5 chapters 6.4 and 20. */
#include "x86/aml.h"

#include <string.h>

/* Opcodes and prefixes (ACPI 6.5 section 20.3). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2E
#define AML_MULTI_NAME_PREFIX 0x2F
#define AML_ROOT_CHAR 0x5C
#define AML_EXT_OP_PREFIX 0x5B
#define AML_DEVICE_OP 0x82
#define AML_NOTIFY_OP 0x86
#define AML_NULL_NAME 0x00

/* Resource descriptor tags (ACPI 6.5 section 6.4): small items carry their length in the tag. */
#define RES_IO 0x47	     /* small item 0x08, 7 bytes follow */
#define RES_IRQ_NOFLAGS 0x22 /* small item 0x04, 2 bytes follow */
#define RES_END 0x79	     /* small item 0x0F, 1 byte follows */
#define RES_MEM32_FIXED 0x86 /* large item, 9 bytes follow */
#define RES_EXT_IRQ 0x89     /* large item, 2 + 4 * n bytes follow */

/* More NameSegs than any path we write; bounds the parser's scratch array. */
#define AML_MAX_SEGS 8

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = buf ? cap : 0;
	a->len = 0;
	a->failed = false;
}

void aml_bytes(struct aml *a, const void *src, size_t n)
{
	if (a->failed)
		return;
	/* "n > cap - len" rather than "len + n > cap": len <= cap always, so nothing wraps. */
	if (n > a->cap - a->len) {
		a->failed = true;
		return;
	}
	if (n)
		memcpy(a->buf + a->len, src, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t tmp[8];
	unsigned i;

	if (n > sizeof(tmp)) {
		a->failed = true;
		return;
	}
	for (i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, tmp, n);
}

/* Shifts the bytes from AT on up by N and writes SRC into the gap: how aml_close fills in. */
static void aml_insert(struct aml *a, size_t at, const uint8_t *src, size_t n)
{
	if (a->failed)
		return;
	if (at > a->len || n > a->cap - a->len) {
		a->failed = true;
		return;
	}
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, src, n);
	a->len += n;
}

size_t aml_pkglength_encode(uint8_t out[4], uint32_t value)
{
	size_t n, i;

	/* One byte holds 6 bits; else bits 7:6 count the extra bytes and bits 3:0 start the value.
	 */
	if (value <= 0x3F) {
		out[0] = (uint8_t)value;
		return 1;
	}
	if (value > AML_PKGLEN_MAX)
		return 0;
	n = value <= 0xFFF ? 2 : value <= 0xFFFFF ? 3 : 4;
	out[0] = (uint8_t)(((n - 1) << 6) | (value & 0x0F));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return n;
}

size_t aml_open(struct aml *a)
{
	return a->len;
}

void aml_close(struct aml *a, size_t mark)
{
	static const uint32_t limit[4] = {0x3F, 0xFFF, 0xFFFFF, AML_PKGLEN_MAX};
	uint8_t enc[4];
	size_t body, n;

	if (a->failed)
		return;
	if (mark > a->len) {
		a->failed = true;
		return;
	}
	/* PkgLength counts its own bytes: pick the smallest N such that body + N fits in N bytes.
	 */
	body = a->len - mark;
	for (n = 1; n <= 4; n++)
		if (body <= limit[n - 1] - n)
			break;
	if (n > 4 || aml_pkglength_encode(enc, (uint32_t)(body + n)) != n) {
		a->failed = true;
		return;
	}
	aml_insert(a, mark, enc, n);
}

static bool seg_char_ok(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !first && c >= '0' && c <= '9';
}

void aml_namestring(struct aml *a, const char *path)
{
	char segs[AML_MAX_SEGS][4];
	const char *s = path;
	size_t nseg = 0, k, i;
	bool root = false;

	if (a->failed)
		return;
	if (*s == '\\') {
		root = true;
		s++;
	}
	while (*s) {
		if (nseg == AML_MAX_SEGS)
			goto bad;
		/* ASL pads short names with '_' ("_SB" is "_SB_"); do the same. */
		memset(segs[nseg], '_', 4);
		for (k = 0; *s && *s != '.'; k++, s++) {
			if (k == 4 || !seg_char_ok(*s, k == 0))
				goto bad;
			segs[nseg][k] = *s;
		}
		if (k == 0)
			goto bad;
		nseg++;
		if (*s == '.' && *++s == '\0')
			goto bad;
	}
	if (root)
		aml_byte(a, AML_ROOT_CHAR);
	if (nseg == 0)
		aml_byte(a, AML_NULL_NAME);
	else if (nseg == 2)
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	for (i = 0; i < nseg; i++)
		aml_bytes(a, segs[i], 4);
	return;
bad:
	a->failed = true;
}

/* The shortest constant encoding of V into OUT (at most 9 bytes); returns its length. */
static size_t encode_integer(uint8_t out[9], uint64_t v)
{
	size_t n, i;

	if (v <= 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	/* OnesOp is avoided on purpose: its value depends on the DSDT revision (32 or 64 bits). */
	if (v <= 0xFF) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xFFFF) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xFFFFFFFF) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t enc[9];

	aml_bytes(a, enc, encode_integer(enc, v));
}

void aml_string(struct aml *a, const char *s)
{
	size_t i;

	/* AsciiCharList is 0x01-0x7F; the guest's interpreter would reject anything else. */
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] > 0x7F) {
			a->failed = true;
			return;
		}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, i + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v, c[3];
	int h[4];
	size_t i;

	if (strlen(id) != 7)
		goto bad;
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			goto bad;
		c[i] = (uint32_t)(id[i] - '@'); /* 'A' is 1: five bits per letter */
	}
	for (i = 0; i < 4; i++)
		if ((h[i] = hex_digit(id[3 + i])) < 0)
			goto bad;
	/* Byte 0: 0 c0(5 bits) c1(2 high); byte 1: c1(3 low) c2(5); bytes 2-3: the hex digits. */
	v = (c[0] << 2 | c[1] >> 3) | ((c[1] & 7) << 5 | c[2]) << 8 |
	    (uint32_t)(h[0] << 4 | h[1]) << 16 | (uint32_t)(h[2] << 4 | h[3]) << 24;
	/* Always a DWord, as iasl emits it, so the disassembler shows EisaId() again. */
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
	return;
bad:
	a->failed = true;
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

size_t aml_scope(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = aml_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_device(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = aml_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_method(struct aml *a, const char *name, uint8_t nargs, bool serialized)
{
	size_t mark;

	if (nargs > AML_METHOD_MAX_ARGS)
		a->failed = true;
	aml_byte(a, AML_METHOD_OP);
	mark = aml_open(a);
	aml_namestring(a, name);
	/* MethodFlags: ArgCount in bits 0-2, SerializeFlag in bit 3, SyncLevel 0. */
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 8 : 0)));
	return mark;
}

void aml_notify(struct aml *a, const char *path, uint64_t value)
{
	aml_byte(a, AML_NOTIFY_OP);
	aml_namestring(a, path);
	aml_integer(a, value);
}

size_t aml_package(struct aml *a, uint8_t nelems)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = aml_open(a);
	aml_byte(a, nelems);
	return mark;
}

size_t aml_buffer(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return aml_open(a);
}

void aml_buffer_close(struct aml *a, size_t mark)
{
	uint8_t enc[9];

	if (a->failed)
		return;
	if (mark > a->len) {
		a->failed = true;
		return;
	}
	/* BufferOp PkgLength BufferSize ByteList: insert the size first, then the PkgLength. */
	aml_insert(a, mark, enc, encode_integer(enc, a->len - mark));
	aml_close(a, mark);
}

void aml_res_io16(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 0x01); /* Decode16: the device decodes all 16 address bits */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, uint8_t irq)
{
	/* The descriptor is a 16-bit mask of ISA IRQs; no flags byte means edge, active high. */
	if (irq > 15) {
		a->failed = true;
		return;
	}
	aml_byte(a, RES_IRQ_NOFLAGS);
	aml_le(a, 1u << irq, 2);
}

void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t size)
{
	aml_byte(a, RES_MEM32_FIXED);
	aml_le(a, 9, 2);
	aml_byte(a, writable ? 0x01 : 0x00);
	aml_le(a, base, 4);
	aml_le(a, size, 4);
}

void aml_res_ext_irq(struct aml *a, uint8_t flags, uint32_t gsi)
{
	aml_byte(a, RES_EXT_IRQ);
	aml_le(a, 2 + 4, 2); /* flags, count, one interrupt number; no resource source */
	aml_byte(a, flags);
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, RES_END);
	aml_byte(a, 0);
}
