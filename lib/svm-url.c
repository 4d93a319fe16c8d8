// SPDX-License-Identifier: GPL-2.0
/*
 * svm-url.c - nfs:// and iscsi:// endpoint URLs (see svm-url.h), parsed
 * without I/O.
 *
 * Strict on purpose: whatever is refused here would otherwise reach libnfs
 * or libiscsi as something other than what the user meant (another export,
 * another file, another LUN). Nothing is normalised: "." and ".."
 * components, empty components and escaped slashes are refused, not
 * rewritten.
 *
 * Decisions beyond QEMU's syntax:
 *  - scheme and the iqn./eui./naa. prefixes are case-insensitive; host,
 *    path, IQN and user are kept as written; query keys are
 *    case-sensitive (QEMU compares them with strcmp) and not decoded;
 *  - port and LUN are plain decimal with no leading zero ("0" is the only
 *    spelling of LUN 0), so that no tool can read them as octal and the
 *    formatted URL is the one canonical spelling;
 *  - IPv6 zone ids ("[fe80::1%25eth0]") are refused;
 *  - a raw space is refused (RFC 3986: write %20), as is any control
 *    character, raw or escaped;
 *  - iSCSI userinfo is split at the first '%' as libiscsi does and is not
 *    percent-decoded; messages never quote the user information, which
 *    may hold the CHAP secret.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "svm-url.h"

#define URL_MAX 8192		/* whole URL, bytes */
#define DNS_MAX 253		/* host name, without a final '.' */
#define LABEL_MAX 63
#define LUN_MAX 16383		/* SAM flat/peripheral addressing */
#define PORT_MAX 65535
#define QUOTE_MAX 64		/* bytes of an offending part quoted */
#define QBUF (QUOTE_MAX * 4 + 8)

struct parse {
	struct svm_url *u;
	char *err;
	size_t errlen;
};

/* ------------------------------------------------------------------------
 * Characters and messages
 */

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static int hex_val(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hex_val(s[i]) < 0)
			return false;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return n > 0;
}

/*
 * s[0..n) in double quotes, for a message: non-printable bytes as \xNN,
 * cut after QUOTE_MAX bytes with "...". q has QBUF bytes.
 */
static const char *quote(char *q, const char *s, size_t n)
{
	size_t o = 0;

	q[o++] = '"';
	for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = s[i];

		if (is_ctl(c) || c >= 0x80 || c == '"' || c == '\\')
			o += sprintf(q + o, "\\x%02x", c);
		else
			q[o++] = c;
	}
	if (n > QUOTE_MAX)
		o += sprintf(q + o, "...");
	q[o++] = '"';
	q[o] = 0;
	return q;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct parse *p, int e, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return -e;
}

/* Length of the scheme s begins with ([a-zA-Z][a-zA-Z0-9+.-]*), or 0. */
static size_t scheme_len(const char *s)
{
	size_t i;

	if (!is_alpha(s[0]))
		return 0;
	for (i = 1; is_alnum(s[i]) || s[i] == '+' || s[i] == '.' ||
		    s[i] == '-'; i++)
		;
	return i;
}

bool svm_url_has_scheme(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = scheme_len(s);
	return n && !strncmp(s + n, "://", 3);
}

/* ------------------------------------------------------------------------
 * Scheme and authority
 */

static int parse_scheme(struct parse *p, const char *s, const char **rest)
{
	size_t n = scheme_len(s);
	char q[QBUF];

	if (!n || strncmp(s + n, "://", 3))
		return fail(p, EINVAL,
			    "%s is not a URL: expected nfs://SERVER/EXPORT/FILE or iscsi://PORTAL/IQN/LUN",
			    quote(q, s, strlen(s)));
	if (n == 3 && !strncasecmp(s, "nfs", 3))
		p->u->scheme = SVM_URL_NFS;
	else if (n == 5 && !strncasecmp(s, "iscsi", 5))
		p->u->scheme = SVM_URL_ISCSI;
	else
		return fail(p, EPROTONOSUPPORT,
			    "unsupported URL scheme %s: only nfs:// and iscsi://",
			    quote(q, s, n));
	*rest = s + n + 3;
	return 0;
}

/* Raw control characters and spaces, anywhere. */
static int check_chars(struct parse *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (is_ctl(c))
			return fail(p, EINVAL,
				    "control character 0x%02x at byte %zu of the URL",
				    c, i);
		if (c == ' ')
			return fail(p, EINVAL,
				    "space at byte %zu of the URL: write it as %%20",
				    i);
	}
	return 0;
}

/* iscsi USER[%PASSWORD]: split at the first '%' as libiscsi does. */
static int parse_userinfo(struct parse *p, const char *s, size_t n)
{
	struct svm_url *u = p->u;
	const char *pct = memchr(s, '%', n);
	size_t ul = pct ? (size_t)(pct - s) : n;
	size_t pl = pct ? n - ul - 1 : 0;

	if (!ul)
		return fail(p, EINVAL, "empty user name before '@'");
	if (memchr(s, ':', ul))
		return fail(p, EINVAL,
			    "':' in the user information: the CHAP password follows '%%' (USER%%PASSWORD@)");
	if (ul >= sizeof(u->user))
		return fail(p, ENAMETOOLONG,
			    "user name of %zu bytes is too long (max %zu)",
			    ul, sizeof(u->user) - 1);
	if (pct && !pl)
		return fail(p, EINVAL, "empty password after '%%' in the user information");
	if (pl >= sizeof(u->password))
		return fail(p, ENAMETOOLONG,
			    "password of %zu bytes is too long (max %zu)",
			    pl, sizeof(u->password) - 1);
	memcpy(u->user, s, ul);
	u->user[ul] = 0;
	if (pct) {
		memcpy(u->password, pct + 1, pl);
		u->password[pl] = 0;
	}
	return 0;
}

/* "[addr]" at the start of a[0..n); *end: just past the ']'. */
static int parse_ipv6(struct parse *p, const char *a, size_t n,
		      const char **end)
{
	const char *close = memchr(a, ']', n);
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	char q[QBUF];
	size_t len;

	if (!close)
		return fail(p, EINVAL, "unterminated IPv6 literal %s: no ']'",
			    quote(q, a, n));
	len = close - a - 1;
	if (memchr(a + 1, '%', len))
		return fail(p, EINVAL,
			    "IPv6 zone id in %s is not supported",
			    quote(q, a, close + 1 - a));
	if (!len || len >= sizeof(addr))
		goto bad;
	memcpy(addr, a + 1, len);
	addr[len] = 0;
	if (inet_pton(AF_INET6, addr, &in6) != 1)
		goto bad;
	if (close + 1 < a + n && close[1] != ':')
		return fail(p, EINVAL, "junk %s after the IPv6 literal",
			    quote(q, close + 1, a + n - close - 1));
	memcpy(p->u->host, addr, len + 1);
	p->u->ipv6 = true;
	*end = close + 1;
	return 0;
bad:
	return fail(p, EINVAL, "bad IPv6 address %s",
		    quote(q, a, close + 1 - a));
}

/* One label of a DNS name: letters, digits, '-' inside. */
static int check_label(struct parse *p, const char *h, size_t hn,
		       const char *l, size_t n)
{
	char q[QBUF], ql[QBUF];

	if (!n)
		return fail(p, EINVAL, "empty label in host name %s",
			    quote(q, h, hn));
	if (n > LABEL_MAX)
		return fail(p, ENAMETOOLONG,
			    "label %s of host name is longer than %d bytes",
			    quote(ql, l, n), LABEL_MAX);
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(l[i]) && l[i] != '-')
			return fail(p, EINVAL,
				    "bad character %s in host name %s: letters, digits, '-' and '.' only",
				    quote(ql, l + i, 1), quote(q, h, hn));
	if (l[0] == '-' || l[n - 1] == '-')
		return fail(p, EINVAL,
			    "label %s of host name %s begins or ends with '-'",
			    quote(ql, l, n), quote(q, h, hn));
	return 0;
}

/* A DNS name or an IPv4 dotted quad. */
static int parse_hostname(struct parse *p, const char *h, size_t n)
{
	struct in_addr in4;
	size_t dn = n, i, start;
	char q[QBUF];
	int ret;

	if (n >= SVM_URL_HOST_MAX)
		return fail(p, ENAMETOOLONG,
			    "host name of %zu bytes is too long (max %d): %s",
			    n, SVM_URL_HOST_MAX - 1, quote(q, h, n));
	memcpy(p->u->host, h, n);
	p->u->host[n] = 0;
	if (strspn(p->u->host, "0123456789.") == n) {
		if (inet_pton(AF_INET, p->u->host, &in4) != 1)
			return fail(p, EINVAL, "bad IPv4 address %s",
				    quote(q, h, n));
		return 0;
	}
	if (n > 1 && h[n - 1] == '.')	/* a fully qualified "nas.example." */
		dn--;
	if (dn > DNS_MAX)
		return fail(p, ENAMETOOLONG,
			    "host name of %zu bytes is too long (max %d): %s",
			    dn, DNS_MAX, quote(q, h, n));
	for (i = start = 0; i <= dn; i++) {
		if (i < dn && h[i] != '.')
			continue;
		ret = check_label(p, h, n, h + start, i - start);
		if (ret)
			return ret;
		start = i + 1;
	}
	return 0;
}

/* Decimal 1..65535, no sign, no leading zero. */
static int parse_port(struct parse *p, const char *s, size_t n)
{
	unsigned long v = 0;
	char q[QBUF];

	if (!n)
		return fail(p, EINVAL, "empty port after ':'");
	if (!all_digits(s, n))
		return fail(p, EINVAL, "bad port %s: decimal 1..%d",
			    quote(q, s, n), PORT_MAX);
	if (n > 1 && s[0] == '0')
		return fail(p, EINVAL, "port %s has a leading zero",
			    quote(q, s, n));
	for (size_t i = 0; i < n && v <= PORT_MAX; i++)
		v = v * 10 + (s[i] - '0');
	if (!v || v > PORT_MAX)
		return fail(p, EINVAL, "port %s out of range 1..%d",
			    quote(q, s, n), PORT_MAX);
	p->u->port = v;
	return 0;
}

/* [userinfo@]host[:port] in a[0..n). */
static int parse_authority(struct parse *p, const char *a, size_t n)
{
	const bool nfs = p->u->scheme == SVM_URL_NFS;
	const char *at = memchr(a, '@', n), *end;
	char q[QBUF];
	int ret;

	if (at) {
		if (nfs)
			return fail(p, EINVAL,
				    "nfs:// takes no user name or password (the part before '@')");
		ret = parse_userinfo(p, a, at - a);
		if (ret)
			return ret;
		n -= at + 1 - a;
		a = at + 1;
		if (memchr(a, '@', n))
			return fail(p, EINVAL, "more than one '@' before the portal");
	}
	end = n && a[0] != '[' ? memchr(a, ':', n) : NULL;
	if (end && memchr(end + 1, ':', a + n - end - 1))
		return fail(p, EINVAL,
			    "IPv6 address %s must be in brackets: [ADDRESS]:PORT",
			    quote(q, a, n));
	if (!n || a[0] == ':')
		return fail(p, EINVAL, "no %s in the URL",
			    nfs ? "server" : "portal");
	if (a[0] == '[') {
		ret = parse_ipv6(p, a, n, &end);
	} else {
		if (!end)
			end = a + n;
		ret = parse_hostname(p, a, end - a);
	}
	if (ret || end == a + n)
		return ret;
	return parse_port(p, end + 1, a + n - end - 1);
}

/* ------------------------------------------------------------------------
 * Path
 */

/*
 * Decode the percent-escapes of one path component c[0..n) into dst (room
 * for n bytes); *dn: decoded length.
 */
static int decode_comp(struct parse *p, const char *c, size_t n, char *dst,
		       size_t *dn)
{
	char q[QBUF], qe[QBUF];
	size_t i, d = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char ch = c[i];

		if (ch != '%') {
			dst[d++] = ch;
			continue;
		}
		if (n - i < 3 || (hi = hex_val(c[i + 1])) < 0 ||
		    (lo = hex_val(c[i + 2])) < 0)
			return fail(p, EINVAL,
				    "bad percent-escape %s in path component %s",
				    quote(qe, c + i, n - i < 3 ? n - i : 3),
				    quote(q, c, n));
		ch = hi << 4 | lo;
		if (!ch)
			return fail(p, EINVAL,
				    "%%00 (a NUL byte) in path component %s",
				    quote(q, c, n));
		if (ch == '/')
			return fail(p, EINVAL,
				    "%s (an escaped '/') in path component %s: it would change where the path splits",
				    quote(qe, c + i, 3), quote(q, c, n));
		if (is_ctl(ch))
			return fail(p, EINVAL,
				    "escaped control character %s in path component %s",
				    quote(qe, c + i, 3), quote(q, c, n));
		dst[d++] = ch;
		i += 2;
	}
	*dn = d;
	return 0;
}

/*
 * Decode raw[0..n) ("/a/b", n >= 1) into out (room for n + 1 bytes) as
 * "/a/b" again, refusing empty, "." and ".." components; *nr: number of
 * components. A decoded '/' is refused, so out splits as raw does.
 */
static int decode_path(struct parse *p, const char *raw, size_t n, char *out,
		       unsigned int *nr)
{
	const char *c = raw + 1, *end = raw + n, *slash;
	size_t o = 0, dn = 0;
	char q[QBUF], qc[QBUF];
	int ret;

	*nr = 0;
	for (;;) {
		slash = memchr(c, '/', end - c);
		if (!slash)
			slash = end;
		if (slash == c)
			return fail(p, EINVAL, slash == end ?
				    "path %s ends with '/'" :
				    "empty path component (\"//\") in %s",
				    quote(q, raw, n));
		out[o++] = '/';
		ret = decode_comp(p, c, slash - c, out + o, &dn);
		if (ret)
			return ret;
		if ((dn == 1 && out[o] == '.') ||
		    (dn == 2 && out[o] == '.' && out[o + 1] == '.'))
			return fail(p, EINVAL,
				    "%s component in path %s: refused, not normalised",
				    quote(qc, out + o, dn), quote(q, raw, n));
		o += dn;
		++*nr;
		if (slash == end)
			break;
		c = slash + 1;
	}
	out[o] = 0;
	return 0;
}

/* ------------------------------------------------------------------------
 * nfs://
 */

static int parse_version(struct parse *p, const char *v, size_t n)
{
	char q[QBUF];

	if (n == 1 && (v[0] == '3' || v[0] == '4')) {
		p->u->nfs_version = v[0] - '0';
		return 0;
	}
	if (n > 2 && !strncmp(v, "4.", 2))
		return fail(p, EINVAL,
			    "NFS version %s not supported: libnfs implements NFSv4.0 only, use version=4",
			    quote(q, v, n));
	return fail(p, EINVAL,
		    "unsupported NFS version %s: version=3 or version=4",
		    quote(q, v, n));
}

/* The query after '?': "version=3" or "version=4", nothing else. */
static int parse_query(struct parse *p, const char *qs)
{
	const char *s = qs, *amp, *eq;
	bool seen = false;
	char q[QBUF];
	size_t n;
	int ret;

	if (!*qs)
		return fail(p, EINVAL, "empty query after '?'");
	for (;;) {
		amp = strchr(s, '&');
		n = amp ? (size_t)(amp - s) : strlen(s);
		eq = memchr(s, '=', n);
		if (!n)
			return fail(p, EINVAL, "empty parameter in query %s",
				    quote(q, qs - 1, strlen(qs) + 1));
		if (!eq)
			return fail(p, EINVAL, "query parameter %s has no value",
				    quote(q, s, n));
		if (eq == s)
			return fail(p, EINVAL, "query parameter %s has no name",
				    quote(q, s, n));
		if (eq - s != 7 || strncmp(s, "version", 7))
			return fail(p, EINVAL,
				    "unknown query parameter %s: only version=3|4",
				    quote(q, s, eq - s));
		if (seen)
			return fail(p, EINVAL,
				    "duplicate query parameter \"version\"");
		seen = true;
		ret = parse_version(p, eq + 1, s + n - eq - 1);
		if (ret)
			return ret;
		if (!amp)
			return 0;
		s = amp + 1;
	}
}

/* /EXPORT/FILE: the file is the last component, the export the rest. */
static int parse_nfs(struct parse *p, const char *path, size_t n,
		     const char *query)
{
	struct svm_url *u = p->u;
	char dpath[URL_MAX + 1], q[QBUF];
	unsigned int nr;
	size_t el, fl;
	char *last;
	int ret;

	if (n <= 1)
		return fail(p, EINVAL,
			    "no export and file: expected nfs://SERVER/EXPORT/FILE");
	if (path[n - 1] == '/')
		return fail(p, EINVAL, "path %s ends with '/': no file name",
			    quote(q, path, n));
	ret = decode_path(p, path, n, dpath, &nr);
	if (ret)
		return ret;
	if (nr < 2)
		return fail(p, EINVAL,
			    "path %s has no export: expected nfs://SERVER/EXPORT/FILE",
			    quote(q, path, n));
	last = strrchr(dpath, '/');
	el = last - dpath;
	fl = strlen(last + 1);
	if (el >= sizeof(u->export_))
		return fail(p, ENAMETOOLONG,
			    "export of %zu bytes is too long (max %zu)",
			    el, sizeof(u->export_) - 1);
	if (fl >= sizeof(u->file))
		return fail(p, ENAMETOOLONG,
			    "file name of %zu bytes is too long (max %zu)",
			    fl, sizeof(u->file) - 1);
	memcpy(u->export_, dpath, el);
	u->export_[el] = 0;
	memcpy(u->file, last + 1, fl + 1);
	return query ? parse_query(p, query + 1) : 0;
}

/* ------------------------------------------------------------------------
 * iscsi://
 */

/* "YYYY-MM.reversed.domain[:anything]", after "iqn.". */
static bool iqn_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t an = colon ? (size_t)(colon - s) : n, i, start;
	int month;

	if (an < 9 || !all_digits(s, 4) || s[4] != '-' ||
	    !all_digits(s + 5, 2) || s[7] != '.')
		return false;
	month = (s[5] - '0') * 10 + (s[6] - '0');
	if (month < 1 || month > 12)
		return false;
	for (i = start = 8; i <= an; i++) {
		if (i < an && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start)
			return false;	/* empty label */
		start = i + 1;
	}
	return !memchr(s, ' ', n);	/* an escaped space, after ':' */
}

/* RFC 3720/3721: iqn., eui. + 16 hex, naa. + 16 or 32 hex. */
static int check_iqn(struct parse *p, const char *s, size_t n)
{
	char q[QBUF];

	if (n > 4 && !strncasecmp(s, "iqn.", 4) && iqn_ok(s + 4, n - 4))
		return 0;
	if (n == 20 && !strncasecmp(s, "eui.", 4) && all_hex(s + 4, 16))
		return 0;
	if ((n == 20 || n == 36) && !strncasecmp(s, "naa.", 4) &&
	    all_hex(s + 4, n - 4))
		return 0;
	return fail(p, EINVAL,
		    "bad target name %s: expected iqn.YYYY-MM.domain[:name], eui.<16 hex> or naa.<16 or 32 hex>",
		    quote(q, s, n));
}

/* Decimal 0..16383, no sign, no leading zero. */
static int parse_lun(struct parse *p, const char *s, size_t n)
{
	unsigned long v = 0;
	char q[QBUF];

	if (!all_digits(s, n))
		return fail(p, EINVAL, "bad LUN %s: decimal 0..%d",
			    quote(q, s, n), LUN_MAX);
	if (n > 1 && s[0] == '0')
		return fail(p, EINVAL, "LUN %s has a leading zero",
			    quote(q, s, n));
	for (size_t i = 0; i < n && v <= LUN_MAX; i++)
		v = v * 10 + (s[i] - '0');
	if (v > LUN_MAX)
		return fail(p, EINVAL, "LUN %s out of range 0..%d",
			    quote(q, s, n), LUN_MAX);
	p->u->lun = v;
	return 0;
}

/* /TARGET-IQN/LUN, exactly. */
static int parse_iscsi(struct parse *p, const char *path, size_t n,
		       const char *query)
{
	struct svm_url *u = p->u;
	char dpath[URL_MAX + 1], q[QBUF];
	const char *iqn, *lun, *extra;
	unsigned int nr;
	size_t il;
	int ret;

	if (query)
		return fail(p, EINVAL, "iscsi:// takes no query: %s",
			    quote(q, query, strlen(query)));
	if (n <= 1)
		return fail(p, EINVAL,
			    "no target IQN and LUN: expected iscsi://PORTAL/IQN/LUN");
	if (n > 2 && path[n - 1] == '/' && !memchr(path + 1, '/', n - 2))
		return fail(p, EINVAL, "path %s ends with '/': no LUN",
			    quote(q, path, n));
	ret = decode_path(p, path, n, dpath, &nr);
	if (ret)
		return ret;
	iqn = dpath + 1;
	lun = strchr(iqn, '/');
	if (!lun)
		return fail(p, EINVAL,
			    "no LUN after target %s: expected iscsi://PORTAL/IQN/LUN",
			    quote(q, iqn, strlen(iqn)));
	il = lun++ - iqn;
	extra = strchr(lun, '/');
	if (extra)
		return fail(p, EINVAL,
			    "extra path component %s after the LUN: expected iscsi://PORTAL/IQN/LUN",
			    quote(q, extra + 1, strlen(extra + 1)));
	if (il >= sizeof(u->iqn))
		return fail(p, ENAMETOOLONG,
			    "target name of %zu bytes is too long (max %zu)",
			    il, sizeof(u->iqn) - 1);
	ret = check_iqn(p, iqn, il);
	if (ret)
		return ret;
	memcpy(u->iqn, iqn, il);
	u->iqn[il] = 0;
	return parse_lun(p, lun, strlen(lun));
}

/* ------------------------------------------------------------------------
 * The URL
 */

static int parse_url(struct parse *p, const char *s)
{
	const char *rest = s, *hash, *path, *query;
	char q[QBUF];
	size_t n;
	int ret;

	if (!s || !*s)
		return fail(p, EINVAL, "empty URL");
	n = strnlen(s, URL_MAX + 1);
	if (n > URL_MAX)
		return fail(p, ENAMETOOLONG, "URL longer than %d bytes",
			    URL_MAX);
	ret = parse_scheme(p, s, &rest);
	if (!ret)
		ret = check_chars(p, s, n);
	if (ret)
		return ret;
	hash = strchr(rest, '#');
	if (hash)
		return fail(p, EINVAL, "fragment %s not allowed in the URL",
			    quote(q, hash, strlen(hash)));
	path = rest + strcspn(rest, "/?");
	ret = parse_authority(p, rest, path - rest);
	if (ret)
		return ret;
	query = strchr(path, '?');
	n = query ? (size_t)(query - path) : strlen(path);
	if (p->u->scheme == SVM_URL_NFS)
		return parse_nfs(p, path, n, query);
	return parse_iscsi(p, path, n, query);
}

int svm_url_parse(const char *s, struct svm_url *u, char *err, size_t errlen)
{
	struct parse p = { .u = u, .err = err, .errlen = errlen };
	int ret;

	if (err && errlen)
		err[0] = 0;
	memset(u, 0, sizeof(*u));
	ret = parse_url(&p, s);
	if (ret)
		memset(u, 0, sizeof(*u));	/* no half URL, no password */
	return ret;
}

/* ------------------------------------------------------------------------
 * Formatting
 */

struct out {
	char *buf;
	size_t len, pos;	/* pos < len */
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room = o->len - 1 - o->pos;

	if (n > room)
		n = room;
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = 0;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* s with what the parser would read otherwise escaped; '/' kept if slash. */
static void put_escaped(struct out *o, const char *s, bool slash)
{
	char esc[4];

	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '%' || c == '?' || c == '#' || c == ' ' ||
		    is_ctl(c) || (c == '/' && !slash)) {
			snprintf(esc, sizeof(esc), "%%%02X", c);
			put(o, esc, 3);
		} else {
			put(o, s, 1);
		}
	}
}

void svm_url_format(const struct svm_url *u, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	char num[24];

	if (!len)
		return;
	buf[0] = 0;
	if (u->scheme != SVM_URL_NFS && u->scheme != SVM_URL_ISCSI)
		return;
	puts_(&o, u->scheme == SVM_URL_NFS ? "nfs://" : "iscsi://");
	if (u->scheme == SVM_URL_ISCSI && u->user[0]) {
		puts_(&o, u->user);	/* never the password */
		puts_(&o, "@");
	}
	if (u->ipv6)
		puts_(&o, "[");
	puts_(&o, u->host);
	if (u->ipv6)
		puts_(&o, "]");
	if (u->port) {
		snprintf(num, sizeof(num), ":%u", u->port);
		puts_(&o, num);
	}
	if (u->scheme == SVM_URL_NFS) {
		put_escaped(&o, u->export_, true);
		puts_(&o, "/");
		put_escaped(&o, u->file, false);
		if (u->nfs_version) {
			snprintf(num, sizeof(num), "?version=%u",
				 u->nfs_version);
			puts_(&o, num);
		}
	} else {
		puts_(&o, "/");
		put_escaped(&o, u->iqn, false);
		snprintf(num, sizeof(num), "/%u", u->lun);
		puts_(&o, num);
	}
}
