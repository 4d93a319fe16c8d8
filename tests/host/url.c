// SPDX-License-Identifier: GPL-2.0
/*
 * url - unit tests of lib/svm-url: nfs:// and iscsi:// URLs parsed field
 * by field, malformed and hostile URLs refused with the right errno and a
 * message naming the bad part, svm_url_format() (never the password) and
 * svm_url_has_scheme(). No server is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svm-url.h"
#include "tap.h"

#define IQN "iqn.2003-01.org.linux-iscsi.host:sn.1234"

/* s printable on one TAP line: control bytes as \xNN, long ones cut. */
static const char *show(const char *s)
{
	static char buf[128];
	size_t o = 0;

	for (; *s && o < sizeof(buf) - 8; s++) {
		unsigned char c = *s;

		if (c < 0x20 || c >= 0x7f || c == '#')
			o += sprintf(buf + o, "\\x%02x", c);
		else
			buf[o++] = c;
	}
	if (*s)
		o += sprintf(buf + o, "...");
	buf[o] = 0;
	return buf;
}

/* ------------------------------------------------------------------------
 * Good URLs
 */

struct good {
	const char *url;
	enum svm_url_scheme scheme;
	const char *host;
	bool ipv6;
	uint16_t port;
	const char *export_, *file;	/* nfs */
	unsigned int version;
	const char *iqn;		/* iscsi */
	uint32_t lun;
	const char *user, *password;
};

#define NFS(url, host, v6, port, exp, file, vers) \
	{ url, SVM_URL_NFS, host, v6, port, exp, file, vers, NULL, 0, \
	  NULL, NULL }
#define ISCSI(url, host, v6, port, iqn, lun, user, pw) \
	{ url, SVM_URL_ISCSI, host, v6, port, NULL, NULL, 0, iqn, lun, \
	  user, pw }

static const struct good goods[] = {
	NFS("nfs://nas.example.com/srv/ds1/disk.vmdk",
	    "nas.example.com", false, 0, "/srv/ds1", "disk.vmdk", 0),
	NFS("nfs://10.0.0.5/export/vm.vmdk?version=3",
	    "10.0.0.5", false, 0, "/export", "vm.vmdk", 3),
	NFS("nfs://nas:2049/export/vm.vmdk?version=4",
	    "nas", false, 2049, "/export", "vm.vmdk", 4),
	NFS("nfs://[::1]:2049/srv/ds1/disk.vmdk",
	    "::1", true, 2049, "/srv/ds1", "disk.vmdk", 0),
	NFS("nfs://[2001:db8::5]/srv/disk.vmdk?version=3",
	    "2001:db8::5", true, 0, "/srv", "disk.vmdk", 3),
	NFS("nfs://nas/srv/My%20VMs/disk%201.vmdk",
	    "nas", false, 0, "/srv/My VMs", "disk 1.vmdk", 0),
	NFS("nfs://nas/a/b/c/d/e/f/g/h/disk-flat.vmdk",
	    "nas", false, 0, "/a/b/c/d/e/f/g/h", "disk-flat.vmdk", 0),
	NFS("NFS://NAS.Example.COM:1/Srv/Disk.VMDK",
	    "NAS.Example.COM", false, 1, "/Srv", "Disk.VMDK", 0),
	NFS("nfs://nas.example.:65535/e/f",
	    "nas.example.", false, 65535, "/e", "f", 0),
	NFS("nfs://nas/e/f%3Fq%23x%25y%2e",
	    "nas", false, 0, "/e", "f?q#x%y.", 0),
	NFS("nfs://nas/e/caf%C3%A9.vmdk",
	    "nas", false, 0, "/e", "caf\xc3\xa9.vmdk", 0),
	NFS("nfs://nas/.snap/..disk.vmdk",
	    "nas", false, 0, "/.snap", "..disk.vmdk", 0),
	ISCSI("iscsi://10.0.0.7/" IQN "/0",
	      "10.0.0.7", false, 0, IQN, 0, NULL, NULL),
	ISCSI("iscsi://portal.example.com:3260/" IQN "/16383",
	      "portal.example.com", false, 3260, IQN, 16383, NULL, NULL),
	ISCSI("iscsi://chap%secret@portal:3260/"
	      "iqn.2001-04.com.example:storage.disk1/1",
	      "portal", false, 3260, "iqn.2001-04.com.example:storage.disk1",
	      1, "chap", "secret"),
	ISCSI("iscsi://initiator@portal/" IQN "/2",
	      "portal", false, 0, IQN, 2, "initiator", NULL),
	ISCSI("iscsi://u%pa:s%s@portal/" IQN "/9",
	      "portal", false, 0, IQN, 9, "u", "pa:s%s"),
	ISCSI("iscsi://[2001:db8::7]:3260/eui.02004567A425678D/3",
	      "2001:db8::7", true, 3260, "eui.02004567A425678D", 3,
	      NULL, NULL),
	ISCSI("iscsi://portal/naa.52004567BA64678D/4",
	      "portal", false, 0, "naa.52004567BA64678D", 4, NULL, NULL),
	ISCSI("iscsi://portal/naa.6001405a1b2c3d4e5f60718293a4b5c6/5",
	      "portal", false, 0, "naa.6001405a1b2c3d4e5f60718293a4b5c6", 5,
	      NULL, NULL),
	ISCSI("ISCSI://portal/IQN.2001-04.COM.EXAMPLE:X/7",
	      "portal", false, 0, "IQN.2001-04.COM.EXAMPLE:X", 7, NULL, NULL),
	ISCSI("iscsi://portal/iqn.2001-04.com.example%3Adisk/10",
	      "portal", false, 0, "iqn.2001-04.com.example:disk", 10,
	      NULL, NULL),
	ISCSI("iscsi://portal/iqn.1992-08.com.netapp/11",
	      "portal", false, 0, "iqn.1992-08.com.netapp", 11, NULL, NULL),
};

static bool str_eq(const char *want, const char *got)
{
	return !strcmp(want ? want : "", got);
}

static bool same(const struct good *g, const struct svm_url *u,
		 bool password)
{
	if (u->scheme != g->scheme || strcmp(u->host, g->host) ||
	    u->ipv6 != g->ipv6 || u->port != g->port ||
	    !str_eq(g->user, u->user) ||
	    (password && !str_eq(g->password, u->password)))
		return false;
	if (g->scheme == SVM_URL_NFS)
		return !strcmp(u->export_, g->export_) &&
		       !strcmp(u->file, g->file) &&
		       u->nfs_version == g->version && !u->iqn[0];
	return !strcmp(u->iqn, g->iqn) && u->lun == g->lun &&
	       !u->export_[0] && !u->file[0] && !u->nfs_version;
}

static void dump(const struct svm_url *u)
{
	diag("scheme %d host \"%s\" ipv6 %d port %u", u->scheme, u->host,
	     u->ipv6, u->port);
	diag("export \"%s\" file \"%s\" version %u", show(u->export_),
	     show(u->file), u->nfs_version);
	diag("iqn \"%s\" lun %u user \"%s\" password \"%s\"", u->iqn,
	     u->lun, u->user, u->password);
}

static void test_good(void)
{
	static struct svm_url u, v;
	char err[512], buf[9000];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];

		ret = svm_url_parse(g->url, &u, err, sizeof(err));
		if (!ok(ret == 0 && same(g, &u, true), "good: %s",
			show(g->url))) {
			diag("ret %d: %s", ret, err);
			dump(&u);
		}
		/* format, parse again: the same URL but the password */
		svm_url_format(&u, buf, sizeof(buf));
		ret = svm_url_parse(buf, &v, err, sizeof(err));
		if (!ok(ret == 0 && same(g, &v, false) && !v.password[0] &&
			(!g->password || !strstr(buf, g->password)),
			"good: formats as %s and parses back", show(buf))) {
			diag("ret %d: %s", ret, err);
			dump(&v);
		}
	}
}

/* ------------------------------------------------------------------------
 * Bad URLs
 */

struct bad {
	const char *url;
	int err;
	const char *needle;	/* in the message */
	const char *desc;	/* NULL: the URL */
	const char *secret;	/* never in the message */
};

#define LONG_URL (8192 + 100)

static char host300[320], dns254[300], label64[100], export5000[5100],
	    file4096[4200], url_long[LONG_URL], iqn_long[400], user300[400],
	    pw300[400];

static void build_long(void)
{
	char lab[64];
	size_t i;

	memset(lab, 'a', 62);
	lab[62] = 0;
	/* 300 bytes of host name */
	strcpy(host300, "nfs://");
	for (i = 0; i < 300; i++)
		host300[6 + i] = (i % 50 == 49) ? '.' : 'h';
	strcpy(host300 + 306, "/e/f");
	/* 4 labels of 62 and "ab": 4 * 63 + 2 = 254 > 253 */
	snprintf(dns254, sizeof(dns254), "nfs://%s.%s.%s.%s.ab/e/f",
		 lab, lab, lab, lab);
	/* a 64-byte label */
	snprintf(label64, sizeof(label64), "nfs://%sbb.example/e/f", lab);
	/* an export of 5000 bytes in components of 99 */
	strcpy(export5000, "nfs://nas");
	for (i = 0; i < 50; i++) {
		size_t o = strlen(export5000);

		export5000[o] = '/';
		memset(export5000 + o + 1, 'x', 99);
		export5000[o + 100] = 0;
	}
	strcat(export5000, "/f");
	/* a file name of 4096 bytes */
	strcpy(file4096, "nfs://nas/e/");
	memset(file4096 + 12, 'f', 4096);
	file4096[12 + 4096] = 0;
	/* 8292 bytes of URL */
	strcpy(url_long, "nfs://nas/e/");
	memset(url_long + 12, 'u', LONG_URL - 13);
	url_long[LONG_URL - 1] = 0;
	/* a 230-byte IQN */
	strcpy(iqn_long, "iscsi://portal/iqn.2001-04.com.example:");
	i = strlen(iqn_long);
	memset(iqn_long + i, 'n', 230 - 24);
	strcpy(iqn_long + i + 230 - 24, "/0");
	/* a 300-byte user name, a 300-byte password */
	strcpy(user300, "iscsi://");
	memset(user300 + 8, 'u', 300);
	strcpy(user300 + 308, "@portal/" IQN "/0");
	strcpy(pw300, "iscsi://u%");
	memset(pw300 + 10, 'p', 300);
	strcpy(pw300 + 310, "@portal/" IQN "/0");
}

/* a URL, its errno, what the message says; a description; a secret */
#define BAD(url, e, needle) { url, e, needle, NULL, NULL }
#define BAD_D(url, e, needle, desc) { url, e, needle, desc, NULL }
#define BAD_S(url, e, needle, secret) { url, e, needle, NULL, secret }
#define EI EINVAL
#define ET ENAMETOOLONG

static const struct bad bads[] = {
	/* the URL as a whole, the scheme */
	BAD("", EI, "empty URL"),
	BAD("nfs:", EI, "not a URL"),
	BAD("nfs:/", EI, "not a URL"),
	BAD("nfs:/nas/e/f", EI, "not a URL"),
	BAD("/srv/ds1/disk.vmdk", EI, "\"/srv/ds1/disk.vmdk\""),
	BAD("://nas/e/f", EI, "not a URL"),
	BAD("1nfs://nas/e/f", EI, "not a URL"),
	BAD("http://nas/e/f", EPROTONOSUPPORT, "\"http\""),
	BAD("nfs4://nas/e/f", EPROTONOSUPPORT, "\"nfs4\""),
	BAD("iscsis://portal/" IQN "/0", EPROTONOSUPPORT, "\"iscsis\""),
	BAD("nfs://", EI, "no server"),
	BAD("nfs://nas/e/f#frag", EI, "\"#frag\""),
	BAD_D("nfs://nas/e/f\n", EI, "control character 0x0a",
	      "newline at the end"),
	BAD_D("nfs://nas/e/\x01" "f", EI, "control character 0x01",
	      "raw 0x01 in the file name"),
	BAD_D("nfs://na\x7fs/e/f", EI, "control character 0x7f",
	      "raw DEL in the host"),
	BAD_D("nfs://nas/my disk.vmdk", EI, "%20", "raw space in the path"),
	BAD_D(url_long, ET, "8192", "URL of 8291 bytes"),
	/* the host */
	BAD("nfs:///e/f", EI, "no server"),
	BAD("nfs://:2049/e/f", EI, "no server"),
	BAD("nfs://1.2.3.256/e/f", EI, "\"1.2.3.256\""),
	BAD("nfs://1.2.3/e/f", EI, "bad IPv4 address \"1.2.3\""),
	BAD("nfs://010.0.0.1/e/f", EI, "\"010.0.0.1\""),
	BAD("nfs://nas_1/e/f", EI, "\"_\""),
	BAD("nfs://-nas/e/f", EI, "\"-nas\""),
	BAD("nfs://nas-.example/e/f", EI, "begins or ends with '-'"),
	BAD("nfs://nas..example/e/f", EI, "empty label"),
	BAD("nfs://.nas/e/f", EI, "empty label"),
	BAD("nfs://n%61s/e/f", EI, "\"%\""),
	BAD("nfs://::1/e/f", EI, "brackets"),
	BAD("nfs://fe80::1:2049/e/f", EI, "\"fe80::1:2049\""),
	BAD("nfs://[::1/e/f", EI, "unterminated IPv6 literal \"[::1\""),
	BAD("nfs://[::g]/e/f", EI, "bad IPv6 address \"[::g]\""),
	BAD("nfs://[1.2.3.4]/e/f", EI, "\"[1.2.3.4]\""),
	BAD("nfs://[]/e/f", EI, "\"[]\""),
	BAD("nfs://[fe80::1%25eth0]/e/f", EI, "zone id"),
	BAD("nfs://[::1]x/e/f", EI, "\"x\""),
	BAD("nfs://[::1]:/e/f", EI, "empty port"),
	BAD_D(host300, ET, "300 bytes", "host name of 300 bytes"),
	BAD_D(dns254, ET, "max 253", "DNS name of 254 bytes"),
	BAD_D(label64, ET, "longer than 63", "host label of 64 bytes"),
	/* the port */
	BAD("nfs://nas:0/e/f", EI, "\"0\""),
	BAD("nfs://nas:99999/e/f", EI, "\"99999\""),
	BAD("nfs://nas:65536/e/f", EI, "\"65536\""),
	BAD("nfs://nas:123456789012345678901/e/f", EI,
	      "\"123456789012345678901\""),
	BAD("nfs://nas:/e/f", EI, "empty port"),
	BAD("nfs://nas:20x9/e/f", EI, "\"20x9\""),
	BAD("nfs://nas:+2049/e/f", EI, "\"+2049\""),
	BAD("nfs://nas:-1/e/f", EI, "\"-1\""),
	BAD("nfs://nas:0x801/e/f", EI, "\"0x801\""),
	BAD("nfs://nas:02049/e/f", EI, "leading zero"),
	/* the nfs path */
	BAD("nfs://nas", EI, "no export"),
	BAD("nfs://nas/", EI, "no export"),
	BAD("nfs://nas?version=3", EI, "no export"),
	BAD("nfs://nas/disk.vmdk", EI, "no export"),
	BAD("nfs://nas/srv/ds1/", EI,
	    "\"/srv/ds1/\" ends with '/': no file"),
	BAD("nfs://nas/srv//ds1/f", EI, "\"/srv//ds1/f\""),
	BAD("nfs://nas//srv/f", EI, "(\"//\")"),
	BAD("nfs://nas/srv/../etc/passwd", EI, "\"..\" component"),
	BAD("nfs://nas/srv/ds1/..", EI, "\"..\" component"),
	BAD("nfs://nas/srv/./f", EI, "\".\" component"),
	BAD("nfs://nas/srv/%2E%2e/f", EI, "\"..\" component"),
	BAD("nfs://nas/e/f%2", EI, "\"%2\""),
	BAD("nfs://nas/e/f%zz", EI, "\"%zz\""),
	BAD("nfs://nas/e/%", EI, "bad percent-escape \"%\""),
	BAD("nfs://nas/e/f%00x", EI, "%00"),
	BAD("nfs://nas/srv%2Fds1/f", EI, "\"%2F\""),
	BAD("nfs://nas/srv/ds1/a%2fb", EI, "\"%2f\""),
	BAD("nfs://nas/e/f%0A", EI, "\"%0A\""),
	BAD("nfs://nas/e/f%7f", EI, "\"%7f\""),
	BAD("nfs://user@nas/e/f", EI, "user name"),
	BAD_S("nfs://user%hunter2@nas/e/f", EI, "password", "hunter2"),
	BAD_D(export5000, ET, "export of 5000 bytes", "export of 5000 bytes"),
	BAD_D(file4096, ET, "file name of 4096 bytes",
	      "file name of 4096 bytes"),
	/* the nfs query */
	BAD("nfs://nas/e/f?", EI, "empty query"),
	BAD("nfs://nas/e/f?version=2", EI, "\"2\""),
	BAD("nfs://nas/e/f?version=4.1", EI, "\"4.1\""),
	BAD("nfs://nas/e/f?version=4.2", EI, "NFSv4.0"),
	BAD("nfs://nas/e/f?version=", EI, "NFS version \"\""),
	BAD("nfs://nas/e/f?version=3junk", EI, "\"3junk\""),
	BAD("nfs://nas/e/f?version", EI, "\"version\" has no value"),
	BAD("nfs://nas/e/f?uid=0", EI, "\"uid\""),
	BAD("nfs://nas/e/f?VERSION=3", EI, "\"VERSION\""),
	BAD("nfs://nas/e/f?version=3&version=4", EI, "duplicate"),
	BAD("nfs://nas/e/f?version=3&version=3", EI, "duplicate"),
	BAD("nfs://nas/e/f?version=3&", EI, "empty parameter"),
	BAD("nfs://nas/e/f?&version=3", EI, "empty parameter"),
	BAD("nfs://nas/e/f?=3", EI, "\"=3\" has no name"),
	BAD("nfs://nas/e/f?version=3&readahead=1", EI, "\"readahead\""),
	/* iscsi path */
	BAD("iscsi://portal", EI, "no target IQN"),
	BAD("iscsi://portal/", EI, "no target IQN"),
	BAD("iscsi:///" IQN "/0", EI, "no portal"),
	BAD("iscsi://portal/" IQN, EI, "no LUN"),
	BAD("iscsi://portal/" IQN "/", EI, "ends with '/': no LUN"),
	BAD("iscsi://portal/" IQN "/0/", EI,
	    "\"/" IQN "/0/\" ends with '/'"),
	BAD("iscsi://portal//", EI, "(\"//\")"),
	BAD("iscsi://portal/" IQN "/0/extra", EI, "\"extra\""),
	BAD("iscsi://portal//" IQN "/0", EI, "(\"//\")"),
	BAD("iscsi://portal/" IQN "/0?version=3", EI, "\"?version=3\""),
	/* the LUN */
	BAD("iscsi://portal/" IQN "/16384", EI, "\"16384\""),
	BAD("iscsi://portal/" IQN "/99999999999999999999", EI,
	      "\"99999999999999999999\""),
	BAD("iscsi://portal/" IQN "/-1", EI, "\"-1\""),
	BAD("iscsi://portal/" IQN "/+1", EI, "\"+1\""),
	BAD("iscsi://portal/" IQN "/0x10", EI, "\"0x10\""),
	BAD("iscsi://portal/" IQN "/1a", EI, "\"1a\""),
	BAD("iscsi://portal/" IQN "/007", EI, "leading zero"),
	BAD("iscsi://portal/" IQN "/0%30", EI, "leading zero"),
	/* the target name */
	BAD("iscsi://portal/target1/0", EI, "\"target1\""),
	BAD("iscsi://portal/iqn.2001-13.com.example:x/0", EI,
	      "\"iqn.2001-13.com.example:x\""),
	BAD("iscsi://portal/iqn.2001-00.com.example:x/0", EI,
	      "\"iqn.2001-00.com.example:x\""),
	BAD("iscsi://portal/iqn.01-04.com.example/0", EI,
	      "\"iqn.01-04.com.example\""),
	BAD("iscsi://portal/iqn.2001-04/0", EI, "\"iqn.2001-04\""),
	BAD("iscsi://portal/iqn.2001-04.:x/0", EI, "\"iqn.2001-04.:x\""),
	BAD("iscsi://portal/iqn.2001-04.com..example:x/0", EI,
	      "\"iqn.2001-04.com..example:x\""),
	BAD("iscsi://portal/iqn.2001-04.com_example:x/0", EI,
	      "\"iqn.2001-04.com_example:x\""),
	BAD("iscsi://portal/iqn.2001-04.com.example:x%20y/0", EI,
	      "\"iqn.2001-04.com.example:x y\""),
	BAD("iscsi://portal/eui.0123456789ABCDE/0", EI,
	      "\"eui.0123456789ABCDE\""),
	BAD("iscsi://portal/eui.0123456789ABCDEG/0", EI,
	      "\"eui.0123456789ABCDEG\""),
	BAD("iscsi://portal/naa.0123456789ABCDEF01/0", EI,
	      "\"naa.0123456789ABCDEF01\""),
	BAD("iscsi://portal/iqn.2001-04.com.example%2Fx/0", EI, "\"%2F\""),
	BAD_D(iqn_long, ET, "target name of 230 bytes",
	      "target name of 230 bytes"),
	/* the userinfo */
	BAD("iscsi://@portal/" IQN "/0", EI, "empty user name"),
	BAD("iscsi://u%@portal/" IQN "/0", EI, "empty password"),
	BAD_S("iscsi://u:s3cr3t@portal/" IQN "/0", EI, "USER%PASSWORD",
	      "s3cr3t"),
	BAD_S("iscsi://a@s3cr3t@portal/" IQN "/0", EI, "more than one '@'",
	      "s3cr3t"),
	BAD_S("iscsi://u%s3cr3t@portal:0/" IQN "/0", EI, "\"0\"", "s3cr3t"),
	BAD_D(user300, ET, "user name of 300 bytes", "user name of 300 bytes"),
	BAD_D(pw300, ET, "password of 300 bytes", "password of 300 bytes"),
};

static void test_bad(void)
{
	static struct svm_url u;
	char err[512];
	size_t i;
	int ret;

	build_long();
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];

		memset(err, 0, sizeof(err));
		ret = svm_url_parse(b->url, &u, err, sizeof(err));
		if (!ok(ret == -b->err && strstr(err, b->needle) &&
			(!b->secret || !strstr(err, b->secret)) &&
			!u.scheme && !u.password[0],
			"bad: %s -> %s naming %s",
			b->desc ? b->desc : show(b->url),
			b->err == EI ? "-EINVAL" :
			b->err == ET ? "-ENAMETOOLONG" : "-EPROTONOSUPPORT",
			b->needle))
			diag("ret %d: %s", ret, err);
	}
}

/* ------------------------------------------------------------------------
 * Formatting, error buffer, svm_url_has_scheme
 */

static void test_format(void)
{
	static struct svm_url u;
	char buf[512], err[256];

	svm_url_parse("iscsi://chap%topsecret@10.1.2.3:3260/" IQN "/1",
		      &u, err, sizeof(err));
	svm_url_format(&u, buf, sizeof(buf));
	ok(!strcmp(buf, "iscsi://chap@10.1.2.3:3260/" IQN "/1") &&
	   !strstr(buf, "topsecret") && !strcmp(u.password, "topsecret"),
	   "format: iscsi with the user but never the password (%s)", buf);

	svm_url_parse("nfs://[::1]:2049/srv/ds1/disk.vmdk", &u, err,
		      sizeof(err));
	svm_url_format(&u, buf, sizeof(buf));
	ok(!strcmp(buf, "nfs://[::1]:2049/srv/ds1/disk.vmdk"),
	   "format: IPv6 in brackets, port (%s)", buf);

	svm_url_parse("nfs://nas/srv/ds1/disk.vmdk?version=3", &u, err,
		      sizeof(err));
	svm_url_format(&u, buf, sizeof(buf));
	ok(!strcmp(buf, "nfs://nas/srv/ds1/disk.vmdk?version=3"),
	   "format: no port when not given, version when given (%s)", buf);

	svm_url_parse("nfs://nas/srv/My%20VMs/a%3fb%23c%25d", &u, err,
		      sizeof(err));
	svm_url_format(&u, buf, sizeof(buf));
	ok(!strcmp(buf, "nfs://nas/srv/My%20VMs/a%3Fb%23c%25d"),
	   "format: space, '?', '#', '%%' escaped again (%s)", buf);

	svm_url_parse("iscsi://portal/" IQN "/0", &u, err, sizeof(err));
	svm_url_format(&u, buf, sizeof(buf));
	ok(!strcmp(buf, "iscsi://portal/" IQN "/0"),
	   "format: iscsi without user or port (%s)", buf);

	svm_url_parse("nfs://nas/srv/ds1/disk.vmdk", &u, err, sizeof(err));
	memset(buf, 'x', sizeof(buf));
	svm_url_format(&u, buf, 10);
	ok(!strcmp(buf, "nfs://nas") && buf[10] == 'x',
	   "format: cut to the buffer, NUL-terminated (%s)", buf);

	memset(&u, 0, sizeof(u));
	strcpy(buf, "junk");
	svm_url_format(&u, buf, sizeof(buf));
	ok(!buf[0], "format: a cleared struct formats as \"\"");
}

static void test_errbuf(void)
{
	static struct svm_url u;
	char err[8];

	ok(svm_url_parse("nfs://nas:0/e/f", &u, NULL, 0) == -EINVAL,
	   "errbuf: NULL err is allowed");
	memset(err, 'x', sizeof(err));
	ok(svm_url_parse("nfs://nas:0/e/f", &u, err, sizeof(err)) == -EINVAL &&
	   strlen(err) == sizeof(err) - 1,
	   "errbuf: the message is cut to errlen (\"%s\")", err);
	ok(svm_url_parse(NULL, &u, err, sizeof(err)) == -EINVAL,
	   "errbuf: NULL URL -> -EINVAL");
	strcpy(err, "old");
	ok(svm_url_parse("nfs://nas/e/f", &u, err, sizeof(err)) == 0 &&
	   !err[0], "errbuf: cleared on success");
}

static const struct {
	const char *s;
	bool want;
} schemes[] = {
	{ "nfs://nas/e/f", true },
	{ "iscsi://", true },
	{ "NFS://x", true },
	{ "svn+ssh://host", true },
	{ "a.b-c://x", true },
	{ "x://", true },
	{ "/srv/ds1", false },
	{ "ds1/vm1.vmdk", false },
	{ "nfs:/nas", false },
	{ "nfs:", false },
	{ "nfs", false },
	{ "1nfs://x", false },
	{ "://x", false },
	{ "+nfs://x", false },
	{ "n fs://x", false },
	{ "n_fs://x", false },
	{ "C:\\dir", false },
	{ "", false },
};

static void test_has_scheme(void)
{
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		ok(svm_url_has_scheme(schemes[i].s) == schemes[i].want,
		   "has_scheme: \"%s\" -> %s", show(schemes[i].s),
		   schemes[i].want ? "true" : "false");
	ok(!svm_url_has_scheme(NULL), "has_scheme: NULL -> false");
}

int main(void)
{
	tap_plan(2 * sizeof(goods) / sizeof(goods[0]) +
		 sizeof(bads) / sizeof(bads[0]) + 7 + 4 +
		 sizeof(schemes) / sizeof(schemes[0]) + 1);
	test_good();
	test_bad();
	test_format();
	test_errbuf();
	test_has_scheme();
	return tap_done();
}
