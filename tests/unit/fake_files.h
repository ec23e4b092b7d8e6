/* fake_files.h: small files written and read whole, for tests that build pretend /sys and /proc
 * trees in a temporary directory. */
#ifndef BULWARK_FAKE_FILES_H
#define BULWARK_FAKE_FILES_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

/* DIR/FILE holds TEXT afterwards (created or truncated). */
static inline void fake_write(const char *dir, const char *file, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The text of DIR/FILE, in a static buffer ("" when missing). */
static inline const char *fake_read(const char *dir, const char *file)
{
	static char buf[4096]; /* a whole log of the supervisor's lines fits */
	char p[512];
	FILE *f;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static inline bool fake_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

#endif
