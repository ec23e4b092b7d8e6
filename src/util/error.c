/* error.c: filling the one error library code returns; main.c prints it. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

int bw_errorf(struct bw_error *err, enum bw_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	err->kind = kind;
	err->key = NULL;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int bw_item_errorf(struct bw_error *err, const char *key, const char *fmt, ...)
{
	va_list ap;

	err->kind = BW_ERR_CONFIG;
	err->key = key;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
