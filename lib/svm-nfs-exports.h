/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-nfs-exports.h - libsvmotion: an NFS server's export list (the MOUNT
 * protocol's EXPORT call through libnfs), within a deadline; and the NFSv3
 * paths that may name a file an NFSv4 client sees under the server's
 * pseudo-root.
 */
#ifndef SVM_NFS_EXPORTS_H
#define SVM_NFS_EXPORTS_H

#include <stddef.h>

/*
 * The directories host exports, into *paths (*n of them; free with
 * svm_nfs_exports_free). Waits timeout_ms at most (0: 30 s). 0, or -errno
 * with the reason in err.
 */
int svm_nfs_exports(const char *host, int timeout_ms, char ***paths,
		    size_t *n, char *err, size_t errlen);
void svm_nfs_exports_free(char **paths, size_t n);

/*
 * NFSv3 paths that may be the file an NFSv4 client names v4path (absolute,
 * below the server's pseudo-root), given the exports: an export whose last
 * k components are v4path's first k (k >= 1, longest export first: its
 * own options apply), then v4path below every export (one of them is the
 * pseudo-root). At most max into out (malloc'd strings, free each); the
 * count. Nothing is proven here: the caller compares fileids.
 */
size_t svm_nfs_v3_candidates(char *const *exports, size_t n,
			     const char *v4path, char **out, size_t max);

#endif
