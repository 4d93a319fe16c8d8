/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-util.h - libsvmotion internals shared by its modules (not installed).
 */
#ifndef SVM_UTIL_H
#define SVM_UTIL_H

#include <stddef.h>

/* Format an error line into err (errlen bytes); no-op when err is NULL/0. */
__attribute__((format(printf, 3, 4)))
void svm_set_err(char *err, size_t errlen, const char *fmt, ...);

#endif /* SVM_UTIL_H */
