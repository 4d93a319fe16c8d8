// SPDX-License-Identifier: GPL-2.0
/*
 * migrate-opts.c - svmotion migrate and cold, the command line: --help, the
 * options, the disks, and which datastores each disk goes to (--to,
 * --place).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "svm-dm.h"
#include "svm-ep.h"
#include "svm-vmdk.h"
#include "svmotion.h"

/* ---- options ------------------------------------------------------ */

void usage_migrate(FILE *f, bool cold)
{
	fprintf(f,
		"usage: svmotion %s DISK... --to DATASTORE[:SIZE][,DATASTORE[:SIZE]...]\n"
		"         [--place DISK=DATASTORE[:SIZE][,...]]... [--format thin|thick-lazy|thick-eager|same]\n"
		"         [--mover auto|xcopy|fast|buffered] [--rate BYTES/s]%s\n"
		"         [--delete-source] [--no-wait] [--progress bar|lines|none] [--json]%s\n"
		"\n",
		cold ? "cold" : "migrate", cold ? "" : " [--handoff none|qmp:SOCKET|exec:COMMAND]",
		cold ? "\n         [--force] [--timeout SECONDS]" : "\n         [--dst-timeout MS] [--via auto|kernel|direct]");
	if (cold) {
		fprintf(f,
			"Copy powered-off disks (not attached) to other datastores: the mover\n"
			"alone, same formats and splitting as migrate. DISK is a VMDK descriptor\n"
			"or a raw image (a path or nfs://...), a block device, or an iSCSI LUN\n"
			"(iscsi://..., a raw disk of the LUN's size, named IQNTAIL-lunN).\n"
			"\n");
		remote_usage(f);
	} else {
		fprintf(f,
			"Move attached, running disks to other datastores with no interruption:\n"
			"the disk's table becomes dm-svmotion (guest writes go to both sides as\n"
			"regions are copied), the mover copies region by region, and every disk\n"
			"of the command switches to its destination in one short pause of the\n"
			"hypervisor, whose length (the stun time) is reported.\n\n");
	}
	fprintf(f,
		"  --to DS[:SIZE],...  destination datastores: directories (local, NFS) or\n"
		"                      block devices. Several split the disk: SIZE bytes\n"
		"                      (K/M/G/T suffixes) go to each; those without SIZE share\n"
		"                      the rest (the last one takes what is left).\n"
		"  --place DISK=DS     this DISK goes to DS instead (one per disk of a VM).\n"
		"  --format F          destination allocation: thin (zeros and holes not\n"
		"                      written), thick-lazy (allocated, zeros not written),\n"
		"                      thick-eager (every block written), same (default:\n"
		"                      thin when the source is sparse, else thick-eager).\n"
		"  --mover M           auto (default), xcopy (array offload), fast (O_DIRECT),\n"
		"                      buffered.\n"
		"  --rate BYTES/s      limit the copy rate.\n");
	if (!cold)
		fprintf(f,
			"  --handoff H         pause the hypervisor around the switchover: none\n"
			"                      (default), qmp:SOCKET (QEMU: stop, then cont),\n"
			"                      exec:COMMAND (runs 'COMMAND pause' and 'COMMAND resume').\n"
			"  --dst-timeout MS    the longest a guest write waits for the destination\n"
			"                      (100 to 600000; default 1000, the target's); a\n"
			"                      destination slower than that ends the migration, on\n"
			"                      the source. 0: wait for it for as long as it takes.\n"
			"  --via V             how the mover reaches storage that is an NFS file or\n"
			"                      an iSCSI LUN: kernel (the devices the guest uses, or\n"
			"                      the files behind them: copy_file_range, NFS\n"
			"                      server-side COPY), direct (its own libnfs/libiscsi\n"
			"                      connection to the same file or LUN, checked by\n"
			"                      fileid or NAA designator; its copy then does not\n"
			"                      queue in the kernel in front of the guest's I/O),\n"
			"                      or auto (default): the copy tries both on its first\n"
			"                      regions (disks of 256 MiB or more; an eighth of\n"
			"                      the disk at most) and copies the rest the faster\n"
			"                      way, or keeps the kernel's at once when it offloads\n"
			"                      (nothing through this host); the choice and its\n"
			"                      reason are reported after the copy.\n");
	fprintf(f,
		"  --delete-source     remove the source extent files once %s.\n"
		"  --no-wait           fail instead of waiting when %d migrations run on this\n"
		"                      host or %d on a datastore.\n"
		"  --progress P        bar (default on a terminal: rate and ETA), lines (one\n"
		"                      line per 10%%, the default otherwise) or none.\n"
		"  --json              one JSON object per line on stdout (progress, copied,\n"
		"                      switchover with stun_ms, done, message, error).\n"
		"%s"
		"\n"
		"Before changing anything, svmotion checks the datastores (reachable,\n"
		"writable, room for the format), the block sizes, that the destination\n"
		"extents don't exist%s. Destination files are\n"
		"<DS>/<name>-flat.vmdk (<name>-sNNN-flat.vmdk when split; a raw image keeps\n"
		"its file name); the descriptor is rewritten in place, atomically.\n"
		"%s%s"
		"\n"
		"Exit status: 0 done; 1 failed, rolled back to the source; 2 usage (also a\n"
		"malformed URL); 3 refused before any change (also an unreachable server,\n"
		"a missing export, file or LUN); 4 aborted (svmotion abort, SIGINT/SIGTERM),\n"
		"rolled back; 5 failed and could not roll back (see the message); 6 switched\n"
		"over but the hypervisor did not resume.\n",
		cold ? "copied" : "switched", HOST_MAX, DS_MAX,
		cold ? "  --force             overwrite a destination file that exists, or a block\n"
		       "                      device or LUN whose first MiB is not all zeros.\n"
		       "  --timeout SECONDS   bound on connecting to a server and on each remote\n"
		       "                      request (default 30).\n" : "",
		cold ? " and the disk is not attached" :
		", the disk is attached and not migrating already",
		cold ? remote_usage_note : remote_usage_live,
		cold ? "" :
		"\n"
		"A destination that stops answering (a lost iSCSI portal, a hung NFS\n"
		"server) holds the guest's writes for at most about a second (the target's\n"
		"dst_timeout_ms): they complete from the source, and the migration fails\n"
		"and rolls back once the copy's own I/O to the destination returns (after\n"
		"the iSCSI replacement timeout; on a hard NFS mount, when the server\n"
		"answers again).\n");
}

enum svm_copy_format fmt_for(const char *f, bool sparse, bool hot)
{
	if (!strcmp(f, "thin"))
		return SVM_FORMAT_THIN;
	if (!strcmp(f, "thick-lazy"))
		return SVM_FORMAT_THICK_LAZY;
	if (!strcmp(f, "thick-eager"))
		return SVM_FORMAT_THICK_EAGER;
	/* same: a hot copy sees the source as a device (no holes) */
	if (!hot)
		return SVM_FORMAT_SAME;
	return sparse ? SVM_FORMAT_THIN : SVM_FORMAT_THICK_EAGER;
}

static int parse_opts(int argc, char **argv, struct opts *o, bool cold,
		      int *first)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "place", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "mover", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "handoff", required_argument, NULL, 'H' },
		{ "delete-source", no_argument, NULL, 'd' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "progress", required_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "dst-timeout", required_argument, NULL, 'D' },
		{ "via", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, m;

	memset(o, 0, sizeof(*o));
	o->progress = -1;
	o->dst_timeout_ms = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'p':
			if (o->nplace == 64 || !strchr(optarg, '=')) {
				msg("--place %s: use DISK=DATASTORE", optarg);
				return EX_USAGE;
			}
			o->place[o->nplace++] = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "thin") && strcmp(optarg, "thick-lazy") &&
			    strcmp(optarg, "thick-eager") && strcmp(optarg, "same")) {
				msg("--format %s: use thin, thick-lazy, thick-eager or same",
				    optarg);
				return EX_USAGE;
			}
			o->format = optarg;
			break;
		case 'm':
			for (m = 0; m < SVM_MODE_COUNT; m++)
				if (!strcmp(optarg, svm_copy_mode_name(m)))
					break;
			if (m == SVM_MODE_COUNT) {
				msg("--mover %s: use auto, xcopy, fast or buffered", optarg);
				return EX_USAGE;
			}
			o->mover = m;
			break;
		case 'r':
			if (parse_size(optarg, &o->rate) || !o->rate) {
				msg("--rate %s: a number of bytes per second (K/M/G suffixes)",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'H':
			if (cold) {
				msg("cold copies have no hypervisor to hand off: no --handoff");
				return EX_USAGE;
			}
			o->handoff = optarg;
			break;
		case 'd':
			o->delete_source = true;
			break;
		case 'F':
		case 'T':
			if (!cold) {
				msg("--%s is for svmotion cold", c == 'F' ? "force" : "timeout");
				return EX_USAGE;
			}
			if (c == 'F') {
				o->force = true;
				break;
			}
			{
				char *end;
				long v;

				errno = 0;
				v = strtol(optarg, &end, 10);
				if (errno || end == optarg || *end || v < 1 || v > 3600) {
					msg("--timeout %s: a number of seconds, 1 to 3600", optarg);
					return EX_USAGE;
				}
				o->timeout_ms = (int)v * 1000;
			}
			break;
		case 'D': {
			char *end;
			long v;

			if (cold) {
				msg("--dst-timeout is for live migrations (svmotion migrate)");
				return EX_USAGE;
			}
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] < '0' ||
			    optarg[0] > '9' || (v != 0 && (v < 100 || v > 600000))) {
				msg("--dst-timeout %s: milliseconds, 100 to 600000, or 0 to wait for the destination for as long as it takes",
				    optarg);
				return EX_USAGE;
			}
			o->dst_timeout_ms = (int)v;
			break;
		}
		case 'V':
			if (cold) {
				msg("--via is for live migrations: a cold copy goes the way its DISK and --to say (a path or a URL)");
				return EX_USAGE;
			}
			if (!strcmp(optarg, "auto"))
				o->via = VIA_AUTO;
			else if (!strcmp(optarg, "kernel"))
				o->via = VIA_KERNEL;
			else if (!strcmp(optarg, "direct"))
				o->via = VIA_DIRECT;
			else {
				msg("--via %s: use auto, kernel or direct", optarg);
				return EX_USAGE;
			}
			o->via_given = true;
			break;
		case 'n':
			o->no_wait = true;
			break;
		case 'j':
			g_json = true;
			break;
		case 'P':
			if (!strcmp(optarg, "none"))
				o->progress = 0;
			else if (!strcmp(optarg, "lines"))
				o->progress = 1;
			else if (!strcmp(optarg, "bar"))
				o->progress = 2;
			else {
				msg("--progress %s: use bar, lines or none", optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage_migrate(stdout, cold);
			return -1;
		default:
			usage_migrate(stderr, cold);
			return EX_USAGE;
		}
	}
	*first = optind;
	return 0;
}

/* Options and disks, in any order (getopt_long permutes). */
int collect(int argc, char **argv, struct opts *o, bool cold,
		   const char **disks, size_t *nd)
{
	int ret, first;

	*nd = 0;
	ret = parse_opts(argc, argv, o, cold, &first);
	if (ret)
		return ret;
	for (; first < argc; first++) {
		if (*nd == 64) {
			msg("at most 64 disks per command");
			return EX_USAGE;
		}
		disks[(*nd)++] = argv[first];
	}
	if (!*nd) {
		msg("no disk given");
		usage_migrate(stderr, cold);
		return EX_USAGE;
	}
	return 0;
}

/* Every --place must name a disk of the command (as given, or its name). */
int check_places(const struct opts *o, const struct job *jobs, size_t nd)
{
	size_t i, k;

	for (i = 0; i < o->nplace; i++) {
		const char *eq = strchr(o->place[i], '=');
		size_t l = eq - o->place[i];
		bool found = false;

		for (k = 0; k < nd && !found; k++)
			found = (strlen(jobs[k].arg) == l &&
				 !strncmp(o->place[i], jobs[k].arg, l)) ||
				(strlen(jobs[k].name) == l &&
				 !strncmp(o->place[i], jobs[k].name, l));
		if (!found) {
			msg("--place %s: %.*s is not a disk of this command", o->place[i],
			    (int)l, o->place[i]);
			return -1;
		}
	}
	return 0;
}

/* The datastores of disk arg: its --place, else --to. */
const char *ds_spec(const struct opts *o, const struct job *j)
{
	size_t i;

	for (i = 0; i < o->nplace; i++) {
		const char *eq = strchr(o->place[i], '=');
		size_t l = eq - o->place[i];

		if ((strlen(j->arg) == l && !strncmp(o->place[i], j->arg, l)) ||
		    (strlen(j->name) == l && !strncmp(o->place[i], j->name, l)))
			return eq + 1;
	}
	return o->to;
}

