/* machine.h: tells systemd-machined about the VM (class vm), so `machinectl list` shows it. */
#ifndef BULWARK_MACHINE_H
#define BULWARK_MACHINE_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MACHINE_IFINDEX_MAX 4 /* CONFIG_NICS_MAX */

/* What machined is told: the VM's name, the process its unit is found by, the VM's taps. */
struct machine_info {
	char name[65];
	pid_t leader;
	int32_t ifindex[MACHINE_IFINDEX_MAX];
	size_t n_ifindex;
};

enum machine_result {
	MACHINE_REGISTERED = 0,
	MACHINE_NO_MACHINED = 1, /* not root, no systemd, or no machined: nothing to tell */
};

/* Fills MI for the VM NAME, led by LEADER, with the ifindex of each of its NTAPS taps that
 * exists. Returns 0. */
int machine_info_init(struct machine_info *mi, const char *name, pid_t leader,
		      const char *const *taps, size_t ntaps);

/*
 * Registers MI with systemd-machined (RegisterMachineWithNetwork, class "vm", service "bulwark")
 * when bulwark runs as root and systemd manages this host (SYSTEMD_DIR, "/run/systemd/system",
 * exists). machined drops the machine when the leader's unit ends. Returns MACHINE_REGISTERED,
 * MACHINE_NO_MACHINED, or -1 with ERR saying why machined refused or could not be reached: the VM
 * runs either way, so callers warn.
 */
int machine_register(const struct machine_info *mi, const char *systemd_dir, struct bw_error *err);

#endif
