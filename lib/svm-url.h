/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-url.h - libsvmotion: the endpoint URLs, parsed without I/O.
 *
 *   nfs://SERVER[:PORT]/EXPORT/PATH[?version=3|4]
 *   iscsi://[USER[%PASSWORD]@]PORTAL[:PORT]/TARGET-IQN/LUN
 *
 * QEMU's syntax (block/nfs.c, block/iscsi.c). SERVER and PORTAL are a host
 * name, an IPv4 address or an IPv6 literal in brackets. Percent-escapes
 * are decoded in the path and the IQN. For NFS the file is the last path
 * component and the export everything before it (as QEMU splits it).
 */
#ifndef SVM_URL_H
#define SVM_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum svm_url_scheme {
	SVM_URL_NFS = 1,
	SVM_URL_ISCSI,
};

#define SVM_URL_HOST_MAX 256	/* bytes, with the NUL */
#define SVM_URL_PATH_MAX 4096
#define SVM_URL_IQN_MAX 224	/* RFC 3720: 223 bytes */

struct svm_url {
	enum svm_url_scheme scheme;
	char host[SVM_URL_HOST_MAX];	/* IPv6 without the brackets */
	bool ipv6;
	uint16_t port;			/* 0: not given */
	/* nfs */
	char export_[SVM_URL_PATH_MAX];	/* "/srv/ds1": begins with '/' */
	char file[SVM_URL_PATH_MAX];	/* "disk.vmdk": the last component */
	unsigned int nfs_version;	/* 3, 4, or 0: not given (libnfs: 3) */
	/* iscsi */
	char iqn[SVM_URL_IQN_MAX];
	uint32_t lun;
	char user[256], password[256];	/* "" when not given */
};

/* Whether s begins with a scheme and "://" (any scheme). */
bool svm_url_has_scheme(const char *s);
/*
 * Parse s. 0, or -EINVAL with the reason in err ("<what is wrong>",
 * quoting the offending part), -ENAMETOOLONG for an over-long part,
 * -EPROTONOSUPPORT for a scheme other than nfs and iscsi. On error *u is
 * cleared (no half-parsed URL, no password left behind); err may be NULL.
 */
int svm_url_parse(const char *s, struct svm_url *u, char *err, size_t errlen);
/*
 * The URL again, without the password, for messages: "nfs://h/e/f",
 * "iscsi://h:3260/iqn.../0".
 */
void svm_url_format(const struct svm_url *u, char *buf, size_t len);

#endif /* SVM_URL_H */
