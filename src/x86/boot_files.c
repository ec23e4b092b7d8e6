/* boot_files.c: the kernel and initrd a config names, mapped read-only and checked before boot. */
#include "x86/boot_files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A bound on what we map, far above any real kernel or initrd, below any guest RAM limit. */
#define BOOT_FILE_MAX (2ULL << 30)

/* Maps PATH privately; a regular, non-empty file only, so a FIFO or device cannot stall us. */
static int map_file(const char *path, const uint8_t **data, size_t *len, const char **why)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto fail;
	}
	if (st.st_size == 0) {
		*why = "the file is empty";
		goto fail;
	}
	if ((uint64_t)st.st_size > BOOT_FILE_MAX) {
		*why = "the file is larger than 2 GiB";
		goto fail;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		*why = strerror(errno);
		goto fail;
	}
	close(fd);
	*data = p;
	*len = (size_t)st.st_size;
	return 0;
fail:
	close(fd);
	return -1;
}

int boot_files_open(const struct vm_config *cfg, struct boot_files *f, struct bw_error *err)
{
	const char *why;
	int r;

	memset(f, 0, sizeof(*f));
	if (map_file(cfg->kernel, &f->kernel, &f->kernel_len, &why)) {
		config_errorf(err, cfg->path, cfg->loc_kernel, "kernel", "%s: %s", cfg->kernel,
			      why);
		return -1;
	}
	if (cfg->initrd && map_file(cfg->initrd, &f->initrd, &f->initrd_len, &why)) {
		config_errorf(err, cfg->path, cfg->loc_initrd, "initrd", "%s: %s", cfg->initrd,
			      why);
		boot_files_close(f);
		return -1;
	}
	r = x86_boot_plan(f->kernel, f->kernel_len, f->initrd_len, cfg->memory,
			  strlen(cfg->cmdline), &f->plan, &why);
	if (r == -E2BIG) {
		config_errorf(err, cfg->path, cfg->loc_cmdline, "cmdline",
			      "%s (kernel %s takes %u bytes)", why, cfg->kernel,
			      f->plan.cmdline_max);
		boot_files_close(f);
		return -1;
	}
	if (r) {
		config_errorf(err, cfg->path, cfg->loc_kernel, "kernel",
			      "%s: %s (memory: %llu MiB)", cfg->kernel, why,
			      (unsigned long long)(cfg->memory >> 20));
		boot_files_close(f);
		return -1;
	}
	return 0;
}

void boot_files_close(struct boot_files *f)
{
	if (f->kernel)
		munmap((void *)f->kernel, f->kernel_len);
	if (f->initrd)
		munmap((void *)f->initrd, f->initrd_len);
	memset(f, 0, sizeof(*f));
}
