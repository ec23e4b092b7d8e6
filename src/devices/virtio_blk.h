/* virtio_blk.h: virtio-blk over a raw image file. */
#ifndef BULWARK_VIRTIO_BLK_H
#define BULWARK_VIRTIO_BLK_H

#include "config/config.h"
#include "devices/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

/* Feature bits (virtio 1.2, 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_HDR_SIZE 16 /* type, reserved, sector: what every request starts with */
#define VIRTIO_BLK_QUEUE_SIZE 256

/* Config space offsets (5.2.4) of the fields bulwark fills; the rest reads as zero. */
#define VIRTIO_BLK_CFG_CAPACITY 0  /* le64, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SEG_MAX 12  /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 20 /* le32 */
#define VIRTIO_BLK_CFG_SIZE 72	   /* up to secure_erase_sector_alignment */

struct virtio_blk;

extern const struct virtio_dev_ops virtio_blk_ops;

/*
 * Opens the image of disk item D (read-only when it says so). Returns the device, or NULL with ERR
 * about D's "path" ("cannot open ...: No such file or directory"); config_disk_error() places it.
 */
struct virtio_blk *virtio_blk_open(const struct config_disk *d, struct bw_error *err);

/*
 * A device on an already open image FD of SIZE bytes (taken over, closed on failure too), for
 * tests and fuzzers. SIZE must be a non-zero multiple of 512; SERIAL is the GET_ID answer
 * (at most 20 bytes are used). Returns NULL with errno set on failure.
 */
struct virtio_blk *virtio_blk_new(int fd, uint64_t size, bool read_only, const char *serial);

#endif
