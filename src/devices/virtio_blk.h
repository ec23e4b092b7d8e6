/* virtio_blk.h: virtio-blk over a raw image file. */
#ifndef BULWARK_VIRTIO_BLK_H
#define BULWARK_VIRTIO_BLK_H

#include "config.h"
#include "devices/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

struct virtio_blk;

extern const struct virtio_dev_ops virtio_blk_ops;

/*
 * Opens disks[I] of CFG (read-only when the config says so). Returns the device, or NULL with ERR
 * naming the item ("FILE:LINE:COL: disks[0].path: cannot open ...: No such file or directory").
 */
struct virtio_blk *virtio_blk_open(const struct vm_config *cfg, unsigned i,
				   struct config_error *err);

/* A device on an already open image FD of SIZE bytes (taken over), for tests and fuzzers. */
struct virtio_blk *virtio_blk_new(int fd, uint64_t size, bool read_only, const char *serial);

#endif
