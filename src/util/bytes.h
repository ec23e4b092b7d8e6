/* bytes.h: byte-order loads and stores on unaligned buffers, and the element count of an array. */
#ifndef BULWARK_BYTES_H
#define BULWARK_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Byte-wise, so they work at any alignment and never alias a wider type (guest frames, virtio
 * headers and ACPI tables put fields at odd offsets). */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Stores the low N bytes of V, least significant first (N <= 8). */
static inline void store_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void store_le16(uint8_t *p, uint16_t v)
{
	store_le(p, v, 2);
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
	store_le(p, v, 4);
}

#endif
