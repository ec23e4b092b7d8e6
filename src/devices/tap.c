/* tap.c: opening a Linux tap device by name for virtio-net, and setting its offloads. */
#include "devices/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tap_open(const char *name, int hdr_len)
{
	size_t len = strlen(name);
	struct ifreq ifr;
	int fd, err;

	if (len == 0 || len >= IFNAMSIZ)
		return -EINVAL;
	/* TUNSETIFF would create a missing tap, unconfigured and gone when we exit: a typo in the
	 * config must be an error instead. */
	if (if_nametoindex(name) == 0)
		return errno == ENXIO ? -ENODEV : -errno;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void tap_error_hint(int err, const char *name, char *buf, size_t size)
{
	switch (err) {
	case -EACCES:
		snprintf(buf, size, " (this user may not open /dev/net/tun, usually mode 0666)");
		break;
	case -EPERM:
		snprintf(buf, size,
			 " (needs CAP_NET_ADMIN, or a tap made for this user: "
			 "ip tuntap add dev %s mode tap user $USER)",
			 name);
		break;
	case -ENODEV:
		snprintf(buf, size,
			 " (no such interface: ip tuntap add dev %s mode tap user $USER makes one)",
			 name);
		break;
	case -EBUSY:
		snprintf(buf, size, " (already in use by another process)");
		break;
	case -EINVAL:
		snprintf(buf, size, " (not a single-queue tap device)");
		break;
	case -ENOENT:
		snprintf(buf, size, " (/dev/net/tun is missing: is the tun module loaded?)");
		break;
	default:
		if (size)
			buf[0] = '\0';
		break;
	}
}

int tap_set_offload(int fd, unsigned offloads)
{
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0)
		return -errno;
	return 0;
}
