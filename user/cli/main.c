// SPDX-License-Identifier: Apache-2.0
/*
 * minerwatch: a thin client of minerwatchd's control socket (SPEC 7).
 *
 *   minerwatch status [--json] [--quiet] [-s PATH]   exit 0 healthy, 1 degraded
 *                                                    or starting, 2 unreachable
 *   minerwatch findings [--json] [-s PATH]
 *   minerwatch version
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "text.h"

#define DEFAULT_SOCKET "/run/minerwatch/minerwatch.sock"
#define MAX_REPLY (8U << 20)
#define TIMEOUT_S 5

enum { EXIT_HEALTHY = 0, EXIT_DEGRADED = 1, EXIT_UNREACHABLE = 2 };

static bool quiet;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	fputs("minerwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Sends one request and returns the parsed reply, or NULL with a message. */
static json_object *request(const char *path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	char req[128], *buf = NULL;
	size_t len = 0, cap = 0;
	json_object *reply = NULL;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail("socket path too long: %s", path);
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			fail("minerwatchd is not running (no one answers on %s)", path);
		else if (errno == EACCES)
			fail("permission denied on %s: run as root or as a member of group "
			     "minerwatch",
			     path);
		else
			fail("cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}\n", cmd);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fail("cannot send to minerwatchd: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb;

			if (cap >= MAX_REPLY) {
				fail("reply from minerwatchd larger than %u bytes", MAX_REPLY);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				fail("out of memory");
				goto out;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(errno == EAGAIN ? "minerwatchd did not answer within %d s" :
					       "reading from minerwatchd failed (%d s timeout)",
			     TIMEOUT_S);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n))
			break;
	}
	if (!buf || !len) {
		fail("minerwatchd closed the connection without a reply");
		goto out;
	}
	buf[len] = '\0';
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		reply = NULL;
		fail("minerwatchd sent a reply that is not a JSON object");
	} else {
		json_object *err;

		if (json_object_object_get_ex(reply, "error", &err)) {
			char msg[512];
			const char *s = json_object_get_string(err);

			text__utf8_safe(s, strlen(s), msg, sizeof(msg));
			fail("minerwatchd refused the request: %s", msg);
			json_object_put(reply);
			reply = NULL;
		}
	}
out:
	free(buf);
	close(fd);
	return reply;
}

/* Untrusted text (process names, reasons) printed without terminal escapes. */
static const char *safe(json_object *o, const char *key, char *buf, size_t sz)
{
	json_object *v;
	const char *s = "";

	if (o && json_object_object_get_ex(o, key, &v))
		s = json_object_get_string(v);
	text__utf8_safe(s, strlen(s), buf, sz);
	return buf;
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void print_list(const char *title, json_object *arr)
{
	size_t n = arr ? json_object_array_length(arr) : 0;
	char b1[128], b2[2048], b3[320];

	printf("%s: %zu\n", title, n);
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(arr, i);

		printf("  severity %lld  confidence %lld  score %lld  pid %lld  %s",
		       (long long)num(f, "severity_id"), (long long)num(f, "confidence_score"),
		       (long long)num(f, "score"), (long long)num(f, "pid"),
		       safe(f, "name", b1, sizeof(b1)));
		if (get(f, "uid"))
			printf("  [%s]", safe(f, "uid", b3, sizeof(b3)));
		if (get(f, "suppressed_by"))
			printf("  suppressed by \"%s\"", safe(f, "suppressed_by", b3, sizeof(b3)));
		printf("\n    %s\n", safe(f, "why", b2, sizeof(b2)));
	}
}

static void print_findings(json_object *reply)
{
	print_list("open findings", get(reply, "findings"));
	print_list("suppressed", get(reply, "suppressed"));
	print_list("suspects below Medium", get(reply, "suspects"));
}

static void print_status(json_object *st)
{
	json_object *progs = get(st, "programs"), *c = get(st, "counters"), *l = get(st, "lost");
	json_object *t = get(st, "tracked"), *inst = get(st, "instance"), *out = get(st, "output");
	char b1[256], b2[256], b3[2048];
	size_t n = progs ? json_object_array_length(progs) : 0;

	printf("minerwatchd %s: %s", safe(st, "version", b1, sizeof(b1)),
	       safe(st, "state", b2, sizeof(b2)));
	if (get(st, "reasons"))
		printf(" (%s)", safe(st, "reasons", b3, sizeof(b3)));
	printf("\n  up %llds, ready in %lld ms, pid %lld\n", (long long)num(st, "uptime_seconds"),
	       (long long)num(st, "start_to_ready_ms"), (long long)num(st, "pid"));
	printf("  kernel %s, BTF from %s", safe(st, "kernel", b1, sizeof(b1)),
	       safe(st, "btf", b2, sizeof(b2)));
	printf(", cgroup v2 at %s\n", safe(st, "cgroup_root", b1, sizeof(b1)));
	{
		json_object *w = get(st, "warnings");
		size_t nw = w && json_object_is_type(w, json_type_array) ?
				    json_object_array_length(w) : 0;

		for (size_t i = 0; i < nw; i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(w, i));

			text__utf8_safe(s ? s : "", s ? strlen(s) : 0, b3, sizeof(b3));
			printf("  warning: %s\n", b3);
		}
	}
	printf("programs:\n");
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(progs, i);
		json_object *att = get(p, "attached");

		json_object *sc = get(p, "self_check");

		printf("  %-12s %-40s %s", safe(p, "name", b1, sizeof(b1)),
		       safe(p, "hook", b2, sizeof(b2)),
		       att && json_object_get_boolean(att) ? "attached" : "NOT ATTACHED");
		if (get(p, "error"))
			printf(": %s", safe(p, "error", b3, sizeof(b3)));
		/* The self-check's verdict: attached once is not the same as running now. */
		if (sc && !strcmp(safe(p, "self_check", b2, sizeof(b2)), "not firing"))
			printf(", NOT FIRING: %s", safe(p, "self_check_reason", b3, sizeof(b3)));
		printf("\n");
	}
	printf("events: exec %lld, exit %lld, connect %lld, close %lld, payload %lld, dns %lld, "
	       "cpu samples %lld\n",
	       (long long)num(c, "exec"), (long long)num(c, "exit"), (long long)num(c, "connect"),
	       (long long)num(c, "close"), (long long)num(c, "payload"), (long long)num(c, "dns"),
	       (long long)num(c, "cpu_samples"));
	printf("lost: %lld (ring buffer exec %lld, connect %lld, payload %lld; maps full: conn "
	       "%lld, cpu %lld)\n",
	       (long long)num(l, "total"), (long long)num(l, "ringbuf_exec"),
	       (long long)num(l, "ringbuf_connect"), (long long)num(l, "ringbuf_payload"),
	       (long long)num(l, "conn_map_full"), (long long)num(l, "cpu_map_full"));
	{
		json_object *sc = get(st, "self_check");

		if (sc)
			printf("self-check: every %llds, %lld rounds, %lld hook(s) found not firing "
			       "since start, %lld health record(s)\n",
			       (long long)num(sc, "interval_seconds"), (long long)num(sc, "rounds"),
			       (long long)num(sc, "blinded"), (long long)num(sc, "health_records"));
	}
	printf("tracked: %lld processes, %lld connections; BPF maps %.1f MiB\n",
	       (long long)num(t, "processes"), (long long)num(t, "connections"),
	       (double)num(t, "bpf_map_bytes") / (1 << 20));
	if (get(inst, "available") && json_object_get_boolean(get(inst, "available"))) {
		char b4[64], b5[64];

		printf("instance: %s in account %s, %s (%s)\n",
		       safe(inst, "instance_id", b3, sizeof(b3)),
		       safe(inst, "account_id", b4, sizeof(b4)),
		       safe(inst, "availability_zone", b5, sizeof(b5)),
		       safe(inst, "instance_type", b2, sizeof(b2)));
	} else {
		printf("instance: unknown (%s)\n", safe(inst, "reason", b3, sizeof(b3)));
	}
	{
		json_object *ecs = get(st, "ecs");
		char b4[300];

		if (ecs && !strcmp(safe(ecs, "agent", b3, sizeof(b3)), "reachable"))
			printf("ecs agent: reachable, cluster %s\n",
			       safe(ecs, "cluster", b4, sizeof(b4)));
		else if (ecs)
			printf("ecs agent: %s%s%s\n", b3, get(ecs, "reason") ? ": " : "",
			       get(ecs, "reason") ? safe(ecs, "reason", b4, sizeof(b4)) : "");
	}
	printf("output: %s: %s, %lld written, %lld pending\n", safe(out, "path", b1, sizeof(b1)),
	       safe(out, "state", b2, sizeof(b2)), (long long)num(out, "written"),
	       (long long)num(out, "pending"));
	print_findings(st);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: minerwatch status [--json] [--quiet] [-s PATH]\n"
		   "       minerwatch findings [--json] [-s PATH]\n"
		   "       minerwatch version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_SOCKET, *cmd;
	bool json = false;
	json_object *reply;
	int c, rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_UNREACHABLE;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "jqs:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_UNREACHABLE;
		}
	}
	if (!strcmp(cmd, "version")) {
		printf("minerwatch %s\n", MW_VERSION);
		return 0;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "findings")) {
		fprintf(stderr, "minerwatch: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_UNREACHABLE;
	}
	reply = request(path, cmd);
	if (!reply)
		return EXIT_UNREACHABLE;
	if (!strcmp(cmd, "status")) {
		json_object *st = get(reply, "state");
		const char *state = st && json_object_is_type(st, json_type_string) ?
					    json_object_get_string(st) : NULL;

		/* Anything but a state SPEC names is not a status reply. */
		if (!state || (strcmp(state, "healthy") && strcmp(state, "degraded") &&
			       strcmp(state, "starting"))) {
			fail("minerwatchd sent a status reply without a valid state");
			json_object_put(reply);
			return EXIT_UNREACHABLE;
		}
		rc = !strcmp(state, "healthy") ? EXIT_HEALTHY : EXIT_DEGRADED;
	} else {
		rc = 0;
	}
	if (!quiet) {
		if (json)
			printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE));
		else if (!strcmp(cmd, "status"))
			print_status(reply);
		else
			print_findings(reply);
	}
	json_object_put(reply);
	return rc;
}
