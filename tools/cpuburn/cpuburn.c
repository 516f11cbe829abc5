// SPDX-License-Identifier: GPL-2.0
/*
 * cpuburn - benign CPU-heavy work with no network, for minerwatch tests.
 *
 * The negative control for minersim: as busy as a miner, but doing ordinary
 * number crunching (a segmented prime sieve and dense matrix products) and
 * never opening a socket, so a sensor that flags it is flagging CPU alone.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolutil.h"

#define MAX_THREADS	1024
#define SEG_SIZE	(32 * 1024)
#define MAT_N		48

struct burner {
	pthread_t tid;
	unsigned int idx;
	uint64_t primes;	/* primes found so far */
	double trace;		/* running sum of matrix traces */
	uint64_t units;
	uint8_t seg[SEG_SIZE];
	double a[MAT_N][MAT_N], b[MAT_N][MAT_N], c[MAT_N][MAT_N];
} __attribute__((aligned(64)));

static struct {
	unsigned int threads;
	double duration;
} opt = {
	.threads = 2,
	.duration = 60.0,
};

const char tool_name[] = "cpuburn";

/* Primes in [lo, lo + SEG_SIZE); memory-light, so threads do not contend for cache. */
static uint64_t sieve_segment(struct burner *b, uint64_t lo)
{
	uint64_t hi = lo + SEG_SIZE, p, n, count = 0;

	memset(b->seg, 1, SEG_SIZE);
	for (p = 2; p * p < hi; p++) {
		uint64_t start = (lo + p - 1) / p * p;

		if (start < p * p)
			start = p * p;
		for (n = start; n < hi; n += p)
			b->seg[n - lo] = 0;
	}
	for (n = lo < 2 ? 2 : lo; n < hi; n++)
		count += b->seg[n - lo];
	return count;
}

static void matmul(struct burner *b)
{
	int i, j, k;

	for (i = 0; i < MAT_N; i++) {
		for (j = 0; j < MAT_N; j++) {
			double s = 0;

			for (k = 0; k < MAT_N; k++)
				s += b->a[i][k] * b->b[k][j];
			b->c[i][j] = s;
		}
	}
	/* Feed the product back, squashed, so every round depends on the last. */
	for (i = 0; i < MAT_N; i++) {
		b->trace += b->c[i][i];
		for (j = 0; j < MAT_N; j++)
			b->a[i][j] = b->c[i][j] / (1.0 + fabs(b->c[i][j])) + 0.5 / (1 + i + j);
	}
}

static void *burner_main(void *arg)
{
	struct burner *b = arg;
	/* Threads sieve different ranges so none repeats another's work. */
	uint64_t lo = 1000000ULL * (b->idx + 1);

	while (!stopping()) {
		b->primes += sieve_segment(b, lo);
		lo += SEG_SIZE;
		/* The sieve slows as the range grows; wrap to keep units short. */
		if (lo > 400000000ULL)
			lo = 1000000ULL * (b->idx + 1);
		matmul(b);
		b->units++;
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cpuburn [--threads N] [--duration SECONDS]\n"
		"  --threads N      compute threads (default 2)\n"
		"  --duration SEC   run time (default 60)\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:d:h", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			opt.threads = parse_uint("--threads", optarg, 1, MAX_THREADS);
			break;
		case 'd':
			opt.duration = parse_double("--duration", optarg, 0.001, 7 * 86400);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	no_extra_args(argc, argv, usage);
}

int main(int argc, char **argv)
{
	struct burner *burners;
	int64_t deadline;
	uint64_t primes = 0, units = 0;
	double trace = 0;
	unsigned int i;
	int err, r, c;

	parse_args(argc, argv);
	print_pid();
	stop_signals_block(false);

	deadline = mono_ns() + (int64_t)(opt.duration * NSEC_PER_SEC);
	burners = aligned_alloc(64, sizeof(*burners) * opt.threads);
	if (!burners)
		die("out of memory");
	memset(burners, 0, sizeof(*burners) * opt.threads);
	for (i = 0; i < opt.threads; i++) {
		struct burner *b = &burners[i];

		b->idx = i;
		for (r = 0; r < MAT_N; r++) {
			for (c = 0; c < MAT_N; c++) {
				b->a[r][c] = 1.0 / (1 + r + c + i);
				b->b[r][c] = (r == c) ? 0.75 : 0.25 / (1 + abs(r - c));
			}
		}
		err = pthread_create(&b->tid, NULL, burner_main, b);
		if (err)
			die("pthread_create: %s", strerror(err));
	}

	wait_stop_until(deadline);
	stop_threads();
	for (i = 0; i < opt.threads; i++) {
		pthread_join(burners[i].tid, NULL);
		primes += burners[i].primes;
		units += burners[i].units;
		trace += burners[i].trace;
	}
	/* Printing the results is what keeps the work observable to the compiler. */
	fprintf(stderr, "cpuburn: summary threads=%u units=%" PRIu64 " primes=%" PRIu64
		" trace=%.6g\n", opt.threads, units, primes, trace);
	free(burners);
	return 0;
}
