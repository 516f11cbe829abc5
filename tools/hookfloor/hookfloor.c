// SPDX-License-Identifier: Apache-2.0
/*
 * hookfloor: holds minerwatch's hooks with empty programs (floor.bpf.c)
 * attached, so that a benchmark can run a storm under them beside no sensor
 * and minerwatchd: the difference between this and no sensor is the kernel's
 * price for running programs at those points at all.
 *
 *   hookfloor [--cgroup DIR] [--hz HZ]
 *
 * Attaches the cgroup hooks to DIR (default: the first cgroup2 mount, where
 * minerwatchd attaches them too), the tracepoints, and a perf-event program on every online
 * CPU at HZ (default 99, minerwatchd's default); prints "ready" on its own
 * line once all are attached, and holds them until SIGTERM or SIGINT.
 * Exit status 0 after a signal, 1 on a usage error, 2 if a hook cannot be
 * loaded or attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "hookfloor.skel.h"
#include "cpusampler.h"

#define MAX_LINKS 16

static struct bpf_link *links[MAX_LINKS];
static int nlinks;

static int keep(struct bpf_link *l, const char *what)
{
	if (!l) {
		fprintf(stderr, "hookfloor: cannot attach %s: %s\n", what, strerror(errno));
		return -1;
	}
	if (nlinks == MAX_LINKS) {
		bpf_link__destroy(l);
		fprintf(stderr, "hookfloor: too many links\n");
		return -1;
	}
	links[nlinks++] = l;
	return 0;
}

/* The sampler on every online CPU, or -1: a CPU left out would lower the floor. */
static int attach_sampler(struct hookfloor_bpf *s, struct cpu_sampler *sm, unsigned int hz)
{
	if (!cpu_sampler_attach(sm, s->progs.floor_sample, hz) || sm->failed) {
		fprintf(stderr, "hookfloor: cannot attach the perf-event program on every CPU "
				"(%d attached, %d refused)\n", sm->n, sm->failed);
		return -1;
	}
	return 0;
}

/* The first cgroup2 mount in /proc/self/mounts, into buf; -1 if there is none. */
static int find_cgroup2(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *m;
	int rc = -1;

	if (!f)
		return -1;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") == 0 && strlen(m->mnt_dir) < len) {
			strcpy(buf, m->mnt_dir);
			rc = 0;
			break;
		}
	}
	endmntent(f);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hookfloor [--cgroup DIR] [--hz HZ]\n"
		   "  holds minerwatch's hooks with empty programs until SIGTERM/SIGINT;\n"
		   "  prints \"ready\" once they are attached\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "hz", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char mount_dir[4096];
	const char *cgroup = NULL;
	unsigned long hz = 99;
	static struct cpu_sampler sm;
	struct hookfloor_bpf *s;
	sigset_t set;
	int c, cg, sig, rc = 2;
	char *end;

	while ((c = getopt_long(argc, argv, "c:z:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'z':
			errno = 0;
			hz = strtoul(optarg, &end, 10);
			if (errno || *end || hz < 1 || hz > 10000) {
				fprintf(stderr, "hookfloor: --hz wants 1-10000, not '%s'\n", optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	/* Block the stop signals before attaching: one that comes early waits for sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (!cgroup) {
		if (find_cgroup2(mount_dir, sizeof(mount_dir))) {
			fprintf(stderr, "hookfloor: no cgroup2 mount; name one with --cgroup\n");
			return 2;
		}
		cgroup = mount_dir;
	}
	cg = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		fprintf(stderr, "hookfloor: cannot open cgroup %s: %s\n", cgroup, strerror(errno));
		return 2;
	}
	s = hookfloor_bpf__open_and_load();
	if (!s) {
		fprintf(stderr, "hookfloor: cannot load the programs: %s\n", strerror(errno));
		close(cg);
		return 2;
	}
	if (keep(bpf_program__attach_cgroup(s->progs.floor_connect4, cg), "connect4") ||
	    keep(bpf_program__attach_cgroup(s->progs.floor_connect6, cg), "connect6") ||
	    keep(bpf_program__attach_cgroup(s->progs.floor_sendmsg4, cg), "sendmsg4") ||
	    keep(bpf_program__attach_cgroup(s->progs.floor_sendmsg6, cg), "sendmsg6") ||
	    keep(bpf_program__attach_cgroup(s->progs.floor_egress, cg), "egress") ||
	    keep(bpf_program__attach_cgroup(s->progs.floor_ingress, cg), "ingress") ||
	    keep(bpf_program__attach(s->progs.floor_sock_close), "tcp_destroy_sock") ||
	    keep(bpf_program__attach(s->progs.floor_exec), "sched_process_exec") ||
	    keep(bpf_program__attach(s->progs.floor_exit), "sched_process_exit") ||
	    attach_sampler(s, &sm, (unsigned int)hz))
		goto out;
	printf("ready\n");
	fflush(stdout);
	if (sigwait(&set, &sig) == 0)
		rc = 0;
out:
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	cpu_sampler_detach(&sm);
	hookfloor_bpf__destroy(s);
	close(cg);
	return rc;
}
