// SPDX-License-Identifier: GPL-2.0
/*
 * svmotion - live storage migration of VM disks between datastores on
 * Linux/KVM (dm-svmotion + libsvmotion). See svmotion(8) and
 * Documentation/svmotion.rst.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "svmotion.h"

const char *g_prog = "svmotion";
const char *g_state_dir = "/run/svmotion";
bool g_json;

/* One message: a JSON "message" event with --json; stderr unless an info
 * line in JSON mode. */
static void say(const char *level, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (g_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string("message"));
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "message", json_object_new_string(buf));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(o);
		if (strcmp(level, "error"))
			return;
	}
	fprintf(stderr, "%s: %s\n", g_prog, buf);
}

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("error", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("info", fmt, ap);
	va_end(ap);
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' && shift)
		end++;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *fmt_size(uint64_t b, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = b;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
	return buf;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svmotion [--state-dir DIR] COMMAND [ARGS...]\n"
		"\n"
		"Live storage migration for Linux/KVM: move a running VM's disks between\n"
		"datastores with no interruption (like VMware Storage vMotion).\n"
		"\n"
		"Commands:\n"
		"  attach DISK          expose DISK as /dev/mapper/svm-NAME for the hypervisor\n"
		"  detach DISK          remove it again\n"
		"  list [--json]        attached disks\n"
		"  migrate DISK... --to DATASTORE[:SIZE][,...]\n"
		"                       move running disks (all switch in one pause)\n"
		"  status [--json]      migrations in progress\n"
		"  abort DISK           stop a migration: back to the source, nothing lost\n"
		"  cold DISK... --to ...  move powered-off disks (no target, the mover alone)\n"
		"  datastores [--json] [DATASTORE...]\n"
		"                       what each datastore is, its room and offloads\n"
		"\n"
		"'svmotion COMMAND --help' explains each. A DISK is a VMDK descriptor with\n"
		"FLAT extents, a raw image or a block device; a datastore is a directory\n"
		"(local or NFS) or a block device.\n"
		"\n"
		"  --state-dir DIR      svmotion's own state (default /run/svmotion, or\n"
		"                       $SVMOTION_STATE_DIR)\n"
		"\n"
		"Exit status: 0 ok, 1 failed (rolled back), 2 usage, 3 refused (nothing\n"
		"changed), 4 aborted, 5 stuck (could not roll back), 6 switched but the\n"
		"hypervisor did not resume. See svmotion(8).\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "attach", cmd_attach }, { "detach", cmd_detach },
		{ "list", cmd_list }, { "migrate", cmd_migrate },
		{ "status", cmd_status }, { "abort", cmd_abort },
		{ "cold", cmd_cold }, { "datastores", cmd_datastores },
	};
	const char *env = getenv("SVMOTION_STATE_DIR");
	size_t i;
	int a = 1;

	if (env && *env)
		g_state_dir = env;
	while (a < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			usage(stdout);
			return EX_OK;
		}
		if (!strcmp(argv[a], "--state-dir") && a + 1 < argc) {
			g_state_dir = argv[a + 1];
			a += 2;
			continue;
		}
		if (!strncmp(argv[a], "--state-dir=", 12)) {
			g_state_dir = argv[a] + 12;
			a++;
			continue;
		}
		msg("unknown option %s", argv[a]);
		usage(stderr);
		return EX_USAGE;
	}
	if (a >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (g_state_dir[0] != '/') {
		msg("--state-dir %s: give an absolute path", g_state_dir);
		return EX_USAGE;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[a], cmds[i].name))
			return cmds[i].fn(argc - a, argv + a);
	if (!strcmp(argv[a], "help")) {
		usage(stdout);
		return EX_OK;
	}
	msg("unknown command %s", argv[a]);
	usage(stderr);
	return EX_USAGE;
}
