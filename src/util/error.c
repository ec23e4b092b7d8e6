/* error.c: filling the one error library code returns; main.c prints it. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

static void fill(struct bw_error *err, enum bw_error_kind kind, const char *key, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

static void fill(struct bw_error *err, enum bw_error_kind kind, const char *key, const char *fmt,
		 va_list ap)
{
	err->kind = kind;
	err->key = key;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int bw_errorf(struct bw_error *err, enum bw_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(err, kind, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int bw_item_errorf(struct bw_error *err, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(err, BW_ERR_CONFIG, key, fmt, ap);
	va_end(ap);
	return -1;
}

int bw_errnof(struct bw_error *err, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(err, BW_ERR_HOST, NULL, fmt, ap);
	va_end(ap);
	return -e;
}
