/* virtio_rng.h: virtio-rng (entropy) from getrandom(2), at a bounded rate. */
#ifndef BULWARK_VIRTIO_RNG_H
#define BULWARK_VIRTIO_RNG_H

#include "devices/virtio_mmio.h"

#include <stdint.h>

#define VIRTIO_RNG_REQ_MAX 4096U /* bytes given per request, whatever its buffers hold */
#define VIRTIO_RNG_RATE_DEFAULT (1ULL << 20) /* bytes per second */
#define VIRTIO_RNG_BURST_DEFAULT (64U << 10) /* bytes a rested device gives at once */

struct virtio_rng;

extern const struct virtio_dev_ops virtio_rng_ops;

/* Returns the device, or NULL when out of memory. */
struct virtio_rng *virtio_rng_new(void);

/* The same with RATE bytes per second and a bucket of BURST bytes (at least VIRTIO_RNG_REQ_MAX),
 * for tests; NULL also for a rate or burst out of range. */
struct virtio_rng *virtio_rng_new_rate(uint64_t rate, uint32_t burst);

#endif
