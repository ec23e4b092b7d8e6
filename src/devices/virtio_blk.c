/* virtio_blk.c: virtio-blk (virtio 1.2, 5.2) over a raw image, one queue served on the device
 * thread. */
#include "devices/virtio_blk.h"
#include "util/bytes.h"

#include "devices/virtio.h"
#include "sandbox/thread_kind.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Header, up to SEG_MAX data buffers and the status byte fit one chain bulwark serves. */
#define SEG_MAX (VQ_CHAIN_MAX - 2)
/* Short transfers and EINTR a request may meet before it fails: each makes progress or ends. */
#define IO_ROUNDS 64

/* What one request starts with; copied out of guest RAM once, then checked. */
struct blk_hdr {
	uint32_t type;
	uint32_t reserved; /* ioprio in legacy drivers; ignored */
	uint64_t sector;
};
_Static_assert(sizeof(struct blk_hdr) == VIRTIO_BLK_HDR_SIZE, "the request header is 16 bytes");

/* Why requests were refused; logged once when the device goes away. */
enum refusal {
	REF_RANGE,     /* sector + length past the capacity */
	REF_UNALIGNED, /* data length not a multiple of 512 */
	REF_READ_ONLY, /* a write to a read-only disk */
	REF_DIRECTION, /* data buffers the request type does not use */
	REF_UNSUPP,    /* a request type bulwark does not serve */
	REF_HOST,      /* the host's read, write or flush failed */
	REF_BROKEN,    /* a chain that cannot be answered, or a broken queue */
	REF_COUNT
};

static const char *const refusal_name[REF_COUNT] = {
    "past the capacity",	  "length not a multiple of 512",
    "writes to a read-only disk", "wrong direction",
    "unsupported type",		  "host I/O errors",
    "unanswerable chains",
};

struct virtio_blk {
	int fd;
	bool read_only;
	bool failed; /* this activation ended in virtio_mmio_fail(); cleared by reset */
	bool host_err_logged;
	uint64_t capacity; /* in 512-byte sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	char name[16];
	uint8_t config[VIRTIO_BLK_CFG_SIZE];
	unsigned long refused[REF_COUNT];
	unsigned long served;
	/* The one request in flight and its data as iovecs: a fixed footprint whatever the guest
	 * does, and no allocation per request. */
	struct vq_req req;
	struct iovec iov[VQ_CHAIN_MAX];
};

struct virtio_blk *virtio_blk_new(int fd, uint64_t size, bool read_only, const char *serial)
{
	struct virtio_blk *blk;

	if (fd < 0 || size == 0 || size % VIRTIO_BLK_SECTOR != 0) {
		if (fd >= 0)
			close(fd);
		errno = EINVAL;
		return NULL;
	}
	blk = calloc(1, sizeof(*blk));
	if (!blk) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	blk->fd = fd;
	blk->read_only = read_only;
	blk->capacity = size / VIRTIO_BLK_SECTOR;
	/* Zero-padded; a serial of exactly 20 bytes has no terminator, as the spec allows. */
	if (serial)
		memcpy(blk->id, serial, strnlen(serial, sizeof(blk->id)));
	snprintf(blk->name, sizeof(blk->name), "blk");
	for (int i = 0; i < 8; i++)
		blk->config[VIRTIO_BLK_CFG_CAPACITY + i] = (uint8_t)(blk->capacity >> (8 * i));
	store_le32(blk->config + VIRTIO_BLK_CFG_SEG_MAX, SEG_MAX);
	store_le32(blk->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
	return blk;
}

/* The image's size in bytes: a regular file's length or a block device's. */
static int image_size(int fd, uint64_t *size, const char **what)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	*what = "not a regular file or block device";
	return -EINVAL;
}

struct virtio_blk *virtio_blk_open(const struct config_disk *d, struct bw_error *err)
{
	struct flock lk = {.l_type = d->read_only ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET};
	const char *what = NULL;
	struct virtio_blk *blk;
	uint64_t size = 0;
	int fd, r;

	fd = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		bw_item_errorf(err, "path", "cannot open %s: %s", d->path, strerror(errno));
		return NULL;
	}
	r = image_size(fd, &size, &what);
	if (r == 0 && size == 0)
		what = "the image is empty";
	else if (r == 0 && size % VIRTIO_BLK_SECTOR)
		what = "its size is not a multiple of 512 bytes";
	/* Two VMs writing one image corrupt it: take an open-file lock, shared when read-only. */
	else if (r == 0 && fcntl(fd, F_OFD_SETLK, &lk) < 0)
		what = errno == EAGAIN || errno == EACCES ? "in use by another process"
							  : strerror(errno);
	else if (r < 0 && !what)
		what = strerror(-r);
	if (what) {
		bw_item_errorf(err, "path", "cannot open %s: %s", d->path, what);
		close(fd);
		return NULL;
	}
	blk = virtio_blk_new(fd, size, d->read_only, d->serial);
	if (!blk)
		bw_item_errorf(err, "path", "cannot open %s: %s", d->path, strerror(errno));
	return blk;
}

/* Points blk->iov at LEN bytes of REQ's buffers [FIRST, FIRST + N), SKIP bytes in. Returns the
 * iovec count; the caller has checked that the buffers hold SKIP + LEN bytes. */
static int gather(struct virtio_blk *blk, unsigned first, unsigned n, uint32_t skip, uint32_t len)
{
	int cnt = 0;

	for (unsigned i = first; i < first + n && len; i++) {
		const struct vq_buf *b = &blk->req.buf[i];
		uint32_t chunk;

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		chunk = b->len - skip < len ? b->len - skip : len;
		blk->iov[cnt++] = (struct iovec){.iov_base = b->host + skip, .iov_len = chunk};
		len -= chunk;
		skip = 0;
	}
	return cnt;
}

/* Moves LEN bytes between the image at OFF and blk->iov[0 .. CNT), straight into or out of guest
 * RAM. A short transfer continues where it stopped; one that makes no progress fails. */
static int transfer(struct virtio_blk *blk, bool write, int cnt, uint64_t off, uint64_t len)
{
	struct iovec *iov = blk->iov;

	for (unsigned round = 0; len; round++) {
		ssize_t r;

		if (round == IO_ROUNDS)
			return -EIO;
		r = write ? pwritev(blk->fd, iov, cnt, (off_t)off)
			  : preadv(blk->fd, iov, cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the image shrank under us */
		off += (uint64_t)r;
		len -= (uint64_t)r;
		while (r > 0 && cnt > 0) {
			if ((size_t)r >= iov->iov_len) {
				r -= (ssize_t)iov->iov_len;
				iov++;
				cnt--;
			} else {
				iov->iov_base = (uint8_t *)iov->iov_base + r;
				iov->iov_len -= (size_t)r;
				r = 0;
			}
		}
	}
	return 0;
}

static uint8_t refuse(struct virtio_blk *blk, enum refusal why)
{
	blk->refused[why]++;
	return why == REF_UNSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

static uint8_t host_error(struct virtio_blk *blk, const char *op, int err)
{
	if (!blk->host_err_logged)
		log_warn("%s: %s failed: %s (the guest sees an I/O error)", blk->name, op,
			 strerror(-err));
	blk->host_err_logged = true;
	return refuse(blk, REF_HOST);
}

/* A read or write of LEN data bytes at HDR's sector; the buffers were checked for direction. */
static uint8_t rw(struct virtio_blk *blk, const struct blk_hdr *hdr, bool write, uint32_t len)
{
	const struct vq_req *req = &blk->req;
	uint64_t nsec = len / VIRTIO_BLK_SECTOR;
	int cnt, r;

	if (len % VIRTIO_BLK_SECTOR)
		return refuse(blk, REF_UNALIGNED);
	/* sector + nsec <= capacity, written so that nothing wraps. */
	if (hdr->sector > blk->capacity || nsec > blk->capacity - hdr->sector)
		return refuse(blk, REF_RANGE);
	if (write && blk->read_only)
		return refuse(blk, REF_READ_ONLY);
	if (write)
		cnt = gather(blk, 0, req->n_out, VIRTIO_BLK_HDR_SIZE, len);
	else
		cnt = gather(blk, req->n_out, req->n_in, 0, len);
	r = transfer(blk, write, cnt, hdr->sector * VIRTIO_BLK_SECTOR, len);
	if (r < 0)
		return host_error(blk, write ? "write" : "read", r);
	return VIRTIO_BLK_S_OK;
}

/* Serves the request in blk->req whose header is HDR; returns its status and sets *DATA to the
 * data bytes written into the guest's buffers. out_len >= 16 and in_len >= 1 hold. */
static uint8_t serve(struct virtio_blk *blk, const struct blk_hdr *hdr, uint32_t *data)
{
	const struct vq_req *req = &blk->req;
	uint32_t out_data = req->out_len - VIRTIO_BLK_HDR_SIZE, in_data = req->in_len - 1;
	uint8_t st;
	int r;

	*data = 0;
	switch (hdr->type) {
	case VIRTIO_BLK_T_IN:
		if (out_data)
			return refuse(blk, REF_DIRECTION);
		st = rw(blk, hdr, false, in_data);
		*data = st == VIRTIO_BLK_S_OK ? in_data : 0;
		return st;
	case VIRTIO_BLK_T_OUT:
		if (in_data)
			return refuse(blk, REF_DIRECTION);
		return rw(blk, hdr, true, out_data);
	case VIRTIO_BLK_T_FLUSH:
		if (out_data || in_data)
			return refuse(blk, REF_DIRECTION);
		/* Nothing of a read-only disk is ever dirty. */
		if (!blk->read_only && fdatasync(blk->fd) < 0)
			return host_error(blk, "flush", -errno);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (out_data)
			return refuse(blk, REF_DIRECTION);
		*data = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
		r = vq_req_write(req, 0, blk->id, *data);
		return r < 0 ? refuse(blk, REF_BROKEN) : VIRTIO_BLK_S_OK;
	default:
		return refuse(blk, REF_UNSUPP);
	}
}

/*
 * Takes one chain off queue 0 and answers it. Returns 1 when it was answered, 0 when the queue is
 * empty, or -EINVAL with *WHY set when the device must stop (broken queue or unanswerable chain).
 */
static int serve_one(struct virtio_blk *blk, struct virtqueue *vq, const char **why)
{
	struct vq_req *req = &blk->req;
	struct blk_hdr hdr;
	uint32_t data;
	uint8_t st;
	int r = vq_pop(vq, req);

	if (r < 0)
		*why = vq->why ? vq->why : "queue broken";
	if (r <= 0)
		return r;
	/* The one copy of the header: the guest may rewrite its buffer while we work. */
	if (vq_req_read(req, 0, &hdr, sizeof(hdr)) < 0 || req->in_len == 0) {
		*why = req->in_len ? "request without a 16-byte readable header"
				   : "request without a writable status byte";
		return -EINVAL;
	}
	st = serve(blk, &hdr, &data);
	/* The status is the last writable byte, wherever the buffers put it. */
	if (vq_req_write(req, req->in_len - 1, &st, 1) < 0) {
		*why = "status byte not writable";
		return -EINVAL;
	}
	vq_add_used(vq, req->head, data + 1);
	blk->served++;
	return 1;
}

static void blk_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_blk *blk = dev;
	struct virtqueue *vq = &t->vq[q];
	const char *why = NULL;
	unsigned budget = vq->size, done = 0, empty = 0;
	int r = 0;

	if (q != 0 || blk->failed || !vq->live || vq->broken)
		return;
	/* A driver that follows the spec has at most vq->size chains outstanding and sees none
	 * completed before we publish, so the budget only ends the round of a guest that re-posts
	 * chains it never saw completed: the device thread gets back to its loop, and can stop. */
	vq_disable_notify(vq);
	for (;;) {
		r = serve_one(blk, vq, &why);
		if (r < 0)
			break;
		if (r > 0 && ++done < budget)
			continue;
		if (r > 0) {
			/* Budget spent: come back for what is left after this round. */
			if (vq_enable_notify(vq) && !virtio_mmio_requeue(t, q)) {
				r = -EINVAL;
				why = "cannot schedule the rest of an overlong round";
			}
			break;
		}
		/* An empty look, then new work announced: a guest moving its avail index back and
		 * forth. It only stalls itself: notifications stay enabled for real work. */
		if (!vq_enable_notify(vq) || ++empty == budget)
			break;
		vq_disable_notify(vq);
	}
	if (done) {
		vq_publish(vq);
		virtio_mmio_used(t, q);
	}
	if (r < 0) {
		blk->refused[REF_BROKEN]++;
		blk->failed = true;
		virtio_mmio_fail(t, q, why);
	}
}

static uint64_t blk_features(void *dev)
{
	struct virtio_blk *blk = dev;
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	return blk->read_only ? f | VIRTIO_BIT(VIRTIO_BLK_F_RO) : f;
}

static void blk_queue_limits(void *dev, unsigned q, uint16_t *size_max, uint32_t *len_max)
{
	(void)dev;
	(void)q;
	*size_max = VIRTIO_BLK_QUEUE_SIZE;
	*len_max = VQ_LEN_MAX;
}

static void blk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct virtio_blk *blk = dev;

	/* The transport checked off + len <= config_size; check again, it costs nothing. */
	if (off > sizeof(blk->config) || len > sizeof(blk->config) - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, blk->config + off, len);
}

static int blk_activate(void *dev, struct virtio_mmio *t, uint64_t features)
{
	struct virtio_blk *blk = dev;

	(void)features; /* nothing here depends on what the driver took */
	snprintf(blk->name, sizeof(blk->name), "%s", t->name);
	blk->failed = false;
	return 0;
}

static void blk_reset(void *dev)
{
	struct virtio_blk *blk = dev;

	/* Requests are served whole inside notify, so none is in flight here. */
	blk->failed = false;
}

/* The thread reads and writes its image, besides the transport's eventfds. */
static void blk_sandbox_fds(void *dev, struct sandbox_fds *fds)
{
	const struct virtio_blk *d = dev;

	sandbox_fds_add(fds, SANDBOX_FD_IMAGE, d->fd);
}

static void blk_destroy(void *dev)
{
	struct virtio_blk *blk = dev;
	char line[256];
	size_t n = 0;

	for (int i = 0; i < REF_COUNT; i++) {
		int w;

		if (!blk->refused[i])
			continue;
		w = snprintf(line + n, sizeof(line) - n, "%s%lu %s", n ? ", " : "", blk->refused[i],
			     refusal_name[i]);
		if (w < 0 || (size_t)w >= sizeof(line) - n)
			break;
		n += (size_t)w;
	}
	if (n)
		log_info("%s: %lu requests answered; refused: %s", blk->name, blk->served, line);
	if (blk->fd >= 0)
		close(blk->fd);
	free(blk);
}

const struct virtio_dev_ops virtio_blk_ops = {
    .kind = SANDBOX_VIRTIO_BLK,
    .device_id = VIRTIO_ID_BLOCK,
    .nqueues = 1,
    .config_size = VIRTIO_BLK_CFG_SIZE,
    .features = blk_features,
    .queue_limits = blk_queue_limits,
    .config_read = blk_config_read,
    .activate = blk_activate,
    .notify = blk_notify,
    .reset = blk_reset,
    .sandbox_fds = blk_sandbox_fds,
    .destroy = blk_destroy,
};
