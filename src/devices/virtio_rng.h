/* virtio_rng.h: virtio-rng (entropy) from getrandom(2), at a bounded rate. */
#ifndef BULWARK_VIRTIO_RNG_H
#define BULWARK_VIRTIO_RNG_H

#include "devices/virtio_mmio.h"

struct virtio_rng;

extern const struct virtio_dev_ops virtio_rng_ops;

/* Returns the device, or NULL when out of memory. */
struct virtio_rng *virtio_rng_new(void);

#endif
