// SPDX-License-Identifier: Apache-2.0
/*
 * hookcost: what CPU accounting costs a context-switch-heavy workload.
 *
 * Runs a pipe ping-pong between two processes pinned to one CPU (every round
 * trip is two context switches) with no BPF program, with sched_switch
 * accounting, and with minerwatch's perf-event sampler, interleaved so that
 * machine noise hits all three alike. Prints one JSON object of run times.
 *
 *   hookcost [--rounds N] [--reps R] [--hz HZ]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "minerwatch.h" /* before the skeleton: it names struct mw_canary */
#include "hookcost.skel.h"
#include "cpusampler.h"

enum mode { M_NONE, M_SWITCH, M_SAMPLE, M_N };
static const char *const mode_names[M_N] = { "none", "sched_switch", "sampling" };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Seconds for n round trips between two processes on one CPU. */
static double pingpong(long n)
{
	int a[2], b[2];
	char c = 'x';
	double t0;
	pid_t pid;

	if (pipe(a) || pipe(b))
		exit(1);
	pid = fork();
	if (pid == 0) {
		pin_cpu0();
		for (long i = 0; i < n; i++)
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	pin_cpu0();
	t0 = now_s();
	for (long i = 0; i < n; i++)
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			exit(1);
	t0 = now_s() - t0;
	waitpid(pid, NULL, 0);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	return t0;
}

int main(int argc, char **argv)
{
	long rounds = 200000;
	int reps = 5;
	unsigned hz = 99;
	double t[M_N][64];
	struct hookcost_bpf *s;
	struct cpu_sampler sm;
	int c;

	while ((c = getopt(argc, argv, "r:n:z:")) != -1) {
		if (c == 'r')
			rounds = atol(optarg);
		else if (c == 'n')
			reps = atoi(optarg);
		else if (c == 'z')
			hz = (unsigned)atoi(optarg);
		else
			return 1;
	}
	if (reps < 1 || reps > 64 || rounds < 1)
		return 1;
	s = hookcost_bpf__open_and_load();
	if (!s) {
		fprintf(stderr, "hookcost: cannot load BPF: %s\n", strerror(errno));
		return 2;
	}
	pingpong(rounds / 10); /* warm up */
	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < M_N; k++) {
			/* Rotate the order so no mode always runs first. */
			enum mode m = (enum mode)((k + r) % M_N);
			struct bpf_link *l = NULL;

			if (m == M_SWITCH)
				l = bpf_program__attach(s->progs.hc_sched_switch);
			else if (m == M_SAMPLE && !cpu_sampler_attach(&sm, s->progs.mw_cpu_sample, hz))
				return 2;
			if (m == M_SWITCH && !l)
				return 2;
			t[m][r] = pingpong(rounds);
			bpf_link__destroy(l);
			if (m == M_SAMPLE)
				cpu_sampler_detach(&sm);
		}
	}
	printf("{\"rounds\":%ld,\"hz\":%u", rounds, hz);
	for (int m = 0; m < M_N; m++) {
		printf(",\"%s\":[", mode_names[m]);
		for (int r = 0; r < reps; r++)
			printf("%s%.6f", r ? "," : "", t[m][r]);
		printf("]");
	}
	printf("}\n");
	hookcost_bpf__destroy(s);
	return 0;
}
