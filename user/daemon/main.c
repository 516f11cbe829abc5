// SPDX-License-Identifier: Apache-2.0
/* minerwatchd: options, configuration and exit codes (SPEC 4). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canary.h"
#include "log.h"
#include "http.h"
#include "mwd.h"
#include "names.h"
#include "suppress.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: minerwatchd [OPTION]...\n"
		"eBPF cryptominer sensor: findings as JSON lines.\n\n"
		"  -c, --config FILE        config file (default " CONFIG_DEFAULT_PATH ")\n"
		"  -o, --output PATH        findings sink, '-' for stdout\n"
		"                           (default /var/log/minerwatch/findings.jsonl)\n"
		"      --format ocsf|asff   finding format (default ocsf)\n"
		"  -s, --socket PATH        control socket (default /run/minerwatch/minerwatch.sock)\n"
		"      --state-dir DIR      durable state (default /var/lib/minerwatch)\n"
		"      --host-root DIR      where the host's / is mounted (default /)\n"
		"      --imds-endpoint URL  IMDS base URL (default http://169.254.169.254, or\n"
		"                           http://[fd00:ec2::254] when AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6)\n"
		"      --ecs-agent-url URL  ECS agent introspection API (default http://127.0.0.1:51678)\n"
		"  -n, --check-config       validate the configuration and exit 0 or 1\n"
		"      --btf FILE           external BTF for kernels without /sys/kernel/btf/vmlinux\n"
		"      --log-level LEVEL    error, warn, info or debug (default info)\n"
		"  -V, --version            print the version\n"
		"  -h, --help               this help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "host-root", required_argument, NULL, 'R' },
		{ "imds-endpoint", required_argument, NULL, 'I' },
		{ "ecs-agent-url", required_argument, NULL, 'E' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "btf", required_argument, NULL, 'B' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct mwd m;
	bool check = false;
	char err[1024];
	int c;

	/*
	 * The self-check's canary (canary.h): the daemon runs this to prove its
	 * exec and exit hooks still fire. It does nothing, not even print.
	 */
	if (argc == 2 && !strcmp(argv[1], CANARY_ARG))
		_exit(0);
	snprintf(m.config_path, sizeof(m.config_path), "%s", CONFIG_DEFAULT_PATH);
	while ((c = getopt_long(argc, argv, "c:o:s:nVh", opts, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'c':
			if (strlen(optarg) >= sizeof(m.config_path)) {
				fprintf(stderr, "minerwatchd: --config: path too long\n");
				return EXIT_USAGE;
			}
			snprintf(m.config_path, sizeof(m.config_path), "%s", optarg);
			m.config_required = true;
			continue;
		case 'n':
			check = true;
			continue;
		case 'V':
			printf("minerwatchd %s\n", MW_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'o': key = "output"; break;
		case 'f': key = "format"; break;
		case 's': key = "socket"; break;
		case 'S': key = "state_dir"; break;
		case 'R': key = "host_root"; break;
		case 'I': key = "imds_endpoint"; break;
		case 'E': key = "ecs_agent_url"; break;
		case 'B': key = "btf"; break;
		case 'L': key = "log_level"; break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
		if (m.noverrides >= (int)(sizeof(m.overrides) / sizeof(m.overrides[0]))) {
			fprintf(stderr, "minerwatchd: too many options\n");
			return EXIT_USAGE;
		}
		m.overrides[m.noverrides].key = key;
		m.overrides[m.noverrides++].value = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "minerwatchd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	if (mwd__load_config(&m, &m.cfg, err, sizeof(err))) {
		fprintf(stderr, "minerwatchd: invalid configuration: %s\n", err);
		return EXIT_USAGE;
	}
	if (check) {
		struct suppress_list *sup = NULL;
		struct name_list *names = NULL;

		if (mwd__load_lists(&m.cfg, &names, &sup, err, sizeof(err))) {
			fprintf(stderr, "minerwatchd: invalid configuration: %s\n", err);
			return EXIT_USAGE;
		}
		printf("%s: configuration OK (%zu pool names, %zu suppression rules)\n",
		       m.config_path, names__count(names), suppress__count(sup));
		names__free(names);
		suppress__free(sup);
		return EXIT_OK;
	}
	if (http__global_init()) {
		fprintf(stderr, "minerwatchd: cannot initialise the HTTP client\n");
		return EXIT_ENV;
	}
	if (mkdir(m.cfg.state_dir, 0750) && errno != EEXIST) {
		fprintf(stderr, "minerwatchd: cannot create the state directory %s: %s\n",
			m.cfg.state_dir, strerror(errno));
		return EXIT_ENV;
	}
	return mwd__run(&m);
}
