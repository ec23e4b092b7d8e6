/* config.h: the VM config (YAML) as bulwark uses it, and its parser. */
#ifndef BULWARK_CONFIG_H
#define BULWARK_CONFIG_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_NAME_MAX 64
#define CONFIG_VCPUS_MAX 254 /* xAPIC ids 0..254, 255 is broadcast */
#define CONFIG_MEMORY_MIN (16ULL << 20)
#define CONFIG_MEMORY_MAX (1ULL << 40) /* 1 TiB */
#define CONFIG_CMDLINE_MAX 4095
#define CONFIG_DEFAULT_VCPUS 1
#define CONFIG_DEFAULT_MEMORY (256ULL << 20)
#define CONFIG_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off"
#define CONFIG_SHUTDOWN_TIMEOUT_MAX 3600
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 30 /* less than the unit's TimeoutStopSec= (45 s) */
#define CONFIG_DISKS_MAX 8
#define CONFIG_NICS_MAX 4
#define CONFIG_SERIAL_MAX 20  /* VIRTIO_BLK_ID_BYTES */
#define CONFIG_TAP_MAX 15     /* IFNAMSIZ - 1 */
#define CONFIG_SEGMENT_MAX 32 /* POLICY_SEGMENT_NAME_MAX */

/* Where a value stood in the config file, so later checks can name it. */
struct config_loc {
	unsigned line;	 /* 1-based; 0 when the value was a default */
	unsigned column; /* 1-based */
};

/* disks[i]: a raw image served by virtio-blk. */
struct config_disk {
	char *path;	/* resolved against the config file's folder */
	bool read_only; /* offers VIRTIO_BLK_F_RO; writes fail, the image stays unchanged */
	char serial[CONFIG_SERIAL_MAX + 1]; /* GET_ID answer; default "disk<i>" */
	struct config_loc loc, loc_path, loc_read_only, loc_serial; /* loc: the item itself */
};

/*
 * nics[i]: a tap device served by virtio-net. Its segment (of the policy's network section) and
 * its own addresses are what virtio-net's frame filter holds the guest to; an address is
 * present when its loc's line is not 0.
 */
struct config_nic {
	char tap[CONFIG_TAP_MAX + 1];
	uint8_t mac[6]; /* unicast; default 02:xx derived from the VM name and i */
	char segment[CONFIG_SEGMENT_MAX + 1]; /* "" when not given */
	uint8_t ipv4[4];		      /* network byte order */
	uint8_t ipv6[16];
	uint8_t ipv6_link_local[16]; /* in fe80::/64; not given: the EUI-64 of mac */
	struct config_loc loc, loc_tap, loc_mac, loc_segment, loc_ipv4, loc_ipv6,
	    loc_ipv6_link_local;
};

struct vm_config {
	char *path; /* the config file as given */
	char name[CONFIG_NAME_MAX + 1];
	unsigned vcpus;
	uint64_t memory; /* bytes, a multiple of 4 KiB */
	char *kernel;	 /* resolved against the config file's folder */
	char *initrd;	 /* NULL when absent */
	char *cmdline;
	struct config_disk disks[CONFIG_DISKS_MAX];
	unsigned ndisks;
	struct config_nic nics[CONFIG_NICS_MAX];
	unsigned nnics;
	bool rng; /* a virtio-rng device */
	/* Also describe virtio devices as virtio_mmio.device= on the kernel command line. */
	bool virtio_cmdline;
	char *policy; /* resolved against the config file's folder; NULL: the built-in default */
	/* Seconds a guest has to power off after its power button; 0: a signal stops it at once. */
	unsigned shutdown_timeout;
	struct config_loc loc_shutdown_timeout;
	struct config_loc loc_name, loc_vcpus, loc_memory, loc_kernel, loc_initrd, loc_cmdline;
	struct config_loc loc_disks, loc_nics, loc_rng, loc_virtio_cmdline, loc_policy;
};

/* Parses PATH into CFG. Returns 0, or -1 with ERR filled; CFG then holds nothing to free. */
int config_load(const char *path, struct vm_config *cfg, struct bw_error *err);

/* Same, from a buffer; PATH names it in messages and anchors relative paths. */
int config_parse(const char *path, const char *text, size_t len, struct vm_config *cfg,
		 struct bw_error *err);

void config_free(struct vm_config *cfg);

/*
 * ERR, from the constructor of disks[I] or nics[I] (bw_item_errorf()), as the config's refusal:
 * "FILE:LINE:COLUMN: disks[I].KEY: " and its text, at the location of the item's KEY.
 */
void config_disk_error(const struct vm_config *cfg, unsigned i, struct bw_error *err);
void config_nic_error(const struct vm_config *cfg, unsigned i, struct bw_error *err);

/* Fills ERR (kind BW_ERR_CONFIG) with "FILE:LINE:COLUMN: FIELD: " and the formatted text. */
void config_errorf(struct bw_error *err, const char *file, struct config_loc loc, const char *field,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
