/* machine.c: tells systemd-machined about the VM (class vm), so `machinectl list` shows it. */
#include "host/machine.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define MACHINED_DEST "org.freedesktop.machine1"
#define MACHINED_PATH "/org/freedesktop/machine1"
#define MACHINED_MANAGER "org.freedesktop.machine1.Manager"
/* machined answers within milliseconds; a hung bus must not hold the VM's start for long. */
#define MACHINED_TIMEOUT_USEC (5 * 1000000ULL)

/* Error names meaning "no machined on this host": nothing to register with, not a failure. */
static bool machined_absent(const sd_bus_error *e)
{
	return sd_bus_error_has_names(
	    e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
	    "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed");
}

/* RegisterMachineWithNetwork(s name, ay id, s service, s class, u leader, s root, ai ifindices). */
static int build_call(sd_bus *bus, const struct machine_info *mi, sd_bus_message **m)
{
	int r = sd_bus_message_new_method_call(bus, m, MACHINED_DEST, MACHINED_PATH,
					       MACHINED_MANAGER, "RegisterMachineWithNetwork");

	if (r >= 0)
		r = sd_bus_message_append(*m, "s", mi->name);
	/* No id: machined accepts an empty one, and a VM has no /etc/machine-id of ours to give. */
	if (r >= 0)
		r = sd_bus_message_append_array(*m, 'y', NULL, 0);
	if (r >= 0)
		r = sd_bus_message_append(*m, "ssus", "bulwark", "vm", (uint32_t)mi->leader, "");
	if (r >= 0)
		r = sd_bus_message_append_array(*m, 'i', mi->ifindex,
						mi->n_ifindex * sizeof(mi->ifindex[0]));
	return r;
}

int machine_info_init(struct machine_info *mi, const char *name, pid_t leader,
		      const char *const *taps, size_t ntaps)
{
	memset(mi, 0, sizeof(*mi));
	snprintf(mi->name, sizeof(mi->name), "%s", name);
	mi->leader = leader;
	for (size_t i = 0; i < ntaps && mi->n_ifindex < MACHINE_IFINDEX_MAX; i++) {
		unsigned idx = if_nametoindex(taps[i]);

		/* A tap bulwark opened exists; one that does not is left out, not refused. */
		if (idx && idx <= INT32_MAX)
			mi->ifindex[mi->n_ifindex++] = (int32_t)idx;
	}
	return 0;
}

int machine_register(const struct machine_info *mi, const char *systemd_dir, struct bw_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	sd_bus *bus = NULL;
	int r, ret = MACHINE_REGISTERED;

	/* machined lives with systemd, and only root may register a machine with it. */
	if (geteuid() != 0 || access(systemd_dir, F_OK) != 0)
		return MACHINE_NO_MACHINED;
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		ret =
		    bw_errorf(err, BW_ERR_HOST,
			      "machined: cannot reach the system bus (%s); the VM is not listed by "
			      "machinectl",
			      strerror(-r));
		goto out;
	}
	r = build_call(bus, mi, &m);
	if (r >= 0)
		r = sd_bus_call(bus, m, MACHINED_TIMEOUT_USEC, &e, NULL);
	if (r >= 0)
		goto out;
	if (machined_absent(&e))
		ret = MACHINE_NO_MACHINED;
	else
		ret = bw_errorf(
		    err, BW_ERR_HOST,
		    "machined: cannot register the VM as machine %s: %s; it is not listed "
		    "by machinectl%s",
		    mi->name, e.message ? e.message : strerror(-r),
		    sd_bus_error_has_name(&e, "org.freedesktop.machine1.MachineExists")
			? " (is a VM of this name running already?)"
			: "");
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
	return ret;
}
