/* tap.h: opening a Linux tap device by name for virtio-net, and setting its offloads. */
#ifndef BULWARK_TAP_H
#define BULWARK_TAP_H

#include <stddef.h>

/*
 * Opens the existing tap NAME (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking, close-on-exec),
 * with a virtio-net header of HDR_LEN bytes before every frame and no offloads yet. Returns the
 * file descriptor, or -errno (-ENODEV: no such interface; -EPERM: not ours to open).
 */
int tap_open(const char *name, int hdr_len);

/* Writes into BUF a hint for tap_open()'s error ERR on tap NAME, to follow strerror() in a
 * message: " (what to do)", or "" when there is none. */
void tap_error_hint(int err, const char *name, char *buf, size_t size);

/* Sets the offloads the tap may hand us (TUN_F_* of <linux/if_tun.h>). Returns 0 or -errno. */
int tap_set_offload(int fd, unsigned offloads);

#endif
