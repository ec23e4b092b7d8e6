/* error.h: the one error library code returns, and bulwark's exit statuses, defined once. */
#ifndef BULWARK_ERROR_H
#define BULWARK_ERROR_H

/* Exit statuses (README, "Exit status and messages"); only main.c chooses one. */
#define EXIT_RUNTIME 1	    /* a runtime failure, or a host that cannot run the VM */
#define EXIT_USAGE 2	    /* bad arguments, a bad config or policy, a refused kernel or initrd */
#define EXIT_STOPPED_HARD 3 /* the guest did not power off after its power button */

enum bw_error_kind {
	BW_ERR_NONE = 0,
	BW_ERR_CONFIG,	/* the config's or policy's fault: msg is "FILE:LINE:COLUMN: field: ..." */
	BW_ERR_HOST,	/* this host cannot run the VM (KVM, cgroups): msg says why and the fix */
	BW_ERR_RUNTIME, /* a call that should not fail did */
};

/*
 * A failure on its way up to main.c, which alone prints it and picks the exit status. Library
 * code fills it and returns -1 (or NULL); it never prints it. An empty msg means the failure
 * was logged where it happened, by code not converted yet.
 */
struct bw_error {
	enum bw_error_kind kind;
	/* From an item's constructor (a disk, a NIC): the item's key at fault ("path", "tap"),
	 * which the caller turns into the FILE:LINE:COLUMN of that key. NULL otherwise. */
	const char *key;
	char msg[1024]; /* as long as a log line */
};

/* Fills ERR with KIND and the formatted text; returns -1, for `return bw_errorf(...)`. */
int bw_errorf(struct bw_error *err, enum bw_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For an item's constructor: a BW_ERR_CONFIG about the item's KEY, without the location, which
 * the caller adds (config_disk_error(), config_nic_error()). Returns -1. */
int bw_item_errorf(struct bw_error *err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A BW_ERR_HOST whose cause is errno E; returns -E, for code whose callers (and tests) tell one
 * errno from another. */
int bw_errnof(struct bw_error *err, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
