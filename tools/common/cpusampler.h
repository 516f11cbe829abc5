/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A BPF program on a cpu-clock perf event on every online CPU, the way
 * minerwatchd's sampler is attached (user/sensor/loader.c): shared by the
 * benchmark tools that load programs of their own (hookcost, hookfloor).
 * Header only: those tools are built by their own rules, without the
 * tools/common library.
 */
#ifndef MW_TOOLS_CPUSAMPLER_H
#define MW_TOOLS_CPUSAMPLER_H

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define CPU_SAMPLER_MAX 1024

struct cpu_sampler {
	struct bpf_link *links[CPU_SAMPLER_MAX];
	int fds[CPU_SAMPLER_MAX];
	int n;		/* CPUs attached */
	int failed;	/* CPUs whose event opened but would not take the program */
};

/*
 * Attaches prog at hz on every CPU that takes a perf event (an offline one
 * does not, and is skipped); returns how many CPUs it is attached on.
 */
static inline int cpu_sampler_attach(struct cpu_sampler *sm, struct bpf_program *prog,
				     unsigned int hz)
{
	int ncpu = libbpf_num_possible_cpus();

	sm->n = sm->failed = 0;
	for (int cpu = 0; cpu < ncpu && cpu < CPU_SAMPLER_MAX; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.freq = 1,
			.sample_freq = hz,
		};
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0)
			continue;
		sm->links[sm->n] = bpf_program__attach_perf_event(prog, fd);
		if (!sm->links[sm->n]) {
			close(fd);
			sm->failed++;
			continue;
		}
		sm->fds[sm->n++] = fd;
	}
	return sm->n;
}

static inline void cpu_sampler_detach(struct cpu_sampler *sm)
{
	for (int i = 0; i < sm->n; i++) {
		bpf_link__destroy(sm->links[i]);
		close(sm->fds[i]);
	}
	sm->n = 0;
}

#endif
