/* aml.h: a small, bounds-checked AML encoder for the DSDT (names, integers, scopes, resources). */
#ifndef BULWARK_AML_H
#define BULWARK_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An append-only byte buffer. Any overflow or invalid input sets FAILED and every later call
 * becomes a no-op, so a builder can emit a whole table and check once at the end. Nothing is
 * ever written at or past buf + cap.
 */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool failed;
};

/* The largest value a PkgLength can carry (28 bits: 4 + 8 + 8 + 8). */
#define AML_PKGLEN_MAX 0x0FFFFFFFu

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *src, size_t n);
/* N little-endian bytes of V (N <= 8). */
void aml_le(struct aml *a, uint64_t v, unsigned n);

/*
 * Encodes VALUE as a PkgLength in the fewest bytes (1..4) into OUT and returns that count, or
 * 0 when VALUE > AML_PKGLEN_MAX. VALUE is the raw field value: callers that wrap a body must
 * count the PkgLength bytes themselves, which aml_open/aml_close do.
 */
size_t aml_pkglength_encode(uint8_t out[4], uint32_t value);

/*
 * Starts a PkgLength-prefixed body right after an opcode already emitted, returning a mark for
 * aml_close. Nothing is reserved: aml_close inserts the minimal PkgLength in front of the body
 * once its size is known, so the buffer never needs more room than the final encoding.
 */
size_t aml_open(struct aml *a);
void aml_close(struct aml *a, size_t mark);

/*
 * A NameString: optional '\' (root), then NameSegs split by '.', each [A-Z_][A-Z0-9_]{0,3} and
 * padded with '_' as ASL does ("_SB" is "_SB_").
 */
void aml_namestring(struct aml *a, const char *path);
/* Zero, One, or the shortest of Byte/Word/DWord/QWord constants. */
void aml_integer(struct aml *a, uint64_t v);
/* A String of 7-bit ASCII, NUL-terminated. */
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501"): three letters and four hex digits compressed into a DWord. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(NAME, ...): the caller emits the one data object that follows. */
void aml_name(struct aml *a, const char *name);
/* Scope(NAME) { ... } and Device(NAME) { ... }: close with aml_close(a, mark). */
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
/* Method(NAME, NARGS, Serialized or NotSerialized) { ... }: close with aml_close(a, mark). */
#define AML_METHOD_MAX_ARGS 7
size_t aml_method(struct aml *a, const char *name, uint8_t nargs, bool serialized);
/* Notify(PATH, VALUE): a statement, for the body of a method. */
void aml_notify(struct aml *a, const char *path, uint64_t value);
/* Package(NELEMS) { ... }: emit NELEMS data objects, then aml_close. */
size_t aml_package(struct aml *a, uint8_t nelems);
/* Buffer() { ... }: emit bytes (e.g. resource descriptors), then aml_buffer_close. */
size_t aml_buffer(struct aml *a);
void aml_buffer_close(struct aml *a, size_t mark);

/* Resource descriptors, for the body of a ResourceTemplate (an aml_buffer). */
void aml_res_io16(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *a, uint8_t irq);
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t size);

/* Extended Interrupt descriptor flags (ACPI 6.5 table 6.47, byte 3). */
#define AML_IRQ_CONSUMER 0x01
#define AML_IRQ_EDGE 0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED 0x08
void aml_res_ext_irq(struct aml *a, uint8_t flags, uint32_t gsi);
/* The End Tag; its checksum 0 means "treat as valid", as iasl emits it. */
void aml_res_end(struct aml *a);

#endif
