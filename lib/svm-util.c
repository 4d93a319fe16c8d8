// SPDX-License-Identifier: GPL-2.0
/*
 * svm-util.c - libsvmotion internals shared by its modules.
 */
#include <stdarg.h>
#include <stdio.h>

#include "svm-util.h"

void svm_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
