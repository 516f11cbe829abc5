// SPDX-License-Identifier: GPL-2.0
/*
 * imdssim - a loopback stand-in for the EC2 Instance Metadata Service,
 * version 2, for the integration tests of minerwatch's IMDS client.
 *
 * A session token comes from PUT /latest/api/token (with the TTL header);
 * metadata GETs must carry it. Served: the instance identity document and a
 * handful of meta-data values, built from the options. Fault switches make
 * the service refuse tokens, never answer the PUT (what a container behind a
 * hop limit of 1 sees), answer slowly, fail GETs, expire or revoke tokens
 * early; an optional control file changes some of them while running.
 *
 * stdout: "listening ADDR:PORT", then one "METHOD TARGET STATUS" line per
 * request (see toolhttp.h).
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "toolhttp.h"
#include "toolnet.h"
#include "toolutil.h"

#define MAX_TTL		21600
#define MAX_TOKENS	4096
#define TOKEN_BYTES	42	/* 56 base64 characters */
#define TOKEN_LEN	((TOKEN_BYTES + 2) / 3 * 4)
#define MAX_DOC		(64 * 1024 * 1024)
#define MAX_CONTROL	4096
#define MAX_VALUE	255

#define TOKEN_PATH	"/latest/api/token"
#define DOC_PATH	"/latest/dynamic/instance-identity/document"
#define MD		"/latest/meta-data/"

const char tool_name[] = "imdssim";

/* The fault switches a control file may override. */
struct faults {
	unsigned int put_status;	/* 0: normal */
	bool put_drop;
	unsigned int delay_ms;
	unsigned int get_status;	/* 0: normal */
	unsigned int max_ttl;		/* 0: no cap */
	bool allow_v1;
	long revoke_gen;		/* control file only: a change revokes every token */
};

static struct {
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	double duration;
	const char *instance_id, *account, *region, *az, *ami, *instance_type, *arch;
	const char *hostname, *local_ipv4;
	const char *document;
	const char *control;
	struct faults f;
	unsigned long fail_first;	/* 0: every GET gets get_status */
	unsigned long revoke_after;	/* 0: never */
} opt = {
	.bind_addr = "127.0.0.1",
	.duration = 600.0,
	.instance_id = "i-0123456789abcdef0",
	.account = "123456789012",
	.region = "us-east-1",
	.ami = "ami-0abcdef1234567890",
	.instance_type = "m5.large",
	.arch = "x86_64",
	.hostname = "ip-10-0-0-12.ec2.internal",
	.local_ipv4 = "10.0.0.12",
};

struct token {
	char value[TOKEN_LEN + 1];
	int64_t expires;	/* mono_ns(): when it stops working */
	int64_t told;		/* mono_ns(): when the client was told it would */
};

/* Everything below is shared by the connection threads, under lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct token tokens[MAX_TOKENS];
static unsigned int token_next;
static unsigned long n_gets, n_good_gets, n_tokens;
static bool revoked_once;
static char pending_time[32];

/* Control file cache: re-parsed when its identity or time stamp changes. */
static struct {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct faults f;
	long last_gen;		/* 0 until a file names another generation */
} ctl;

/* ---- control file -------------------------------------------------------- */

static bool ctl_number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *v <= max && s[0] != '-';
}

/* Reads "key value" lines over a copy of the command-line switches. */
static void ctl_parse(char *text, struct faults *f)
{
	unsigned int lineno = 0;
	char *line, *next;

	*f = opt.f;
	f->revoke_gen = ctl.last_gen;
	for (line = text; line; line = next) {
		char key[32], val[32];
		unsigned long v;
		bool ok;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "#\r")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		if (sscanf(line, " %31s %31s", key, val) != 2) {
			logmsg("control %s:%u: expected KEY VALUE", opt.control, lineno);
			continue;
		}
		if (!strcmp(key, "put-status"))
			ok = ctl_number(val, 599, &v) && (!v || v >= 200) && (f->put_status = v, 1);
		else if (!strcmp(key, "put-drop"))
			ok = ctl_number(val, 1, &v) && (f->put_drop = v, 1);
		else if (!strcmp(key, "delay-ms"))
			ok = ctl_number(val, 600000, &v) && (f->delay_ms = v, 1);
		else if (!strcmp(key, "get-status"))
			ok = ctl_number(val, 599, &v) && (!v || v >= 200) && (f->get_status = v, 1);
		else if (!strcmp(key, "max-token-ttl"))
			ok = ctl_number(val, MAX_TTL, &v) && (f->max_ttl = v, 1);
		else if (!strcmp(key, "allow-v1"))
			ok = ctl_number(val, 1, &v) && (f->allow_v1 = v, 1);
		else if (!strcmp(key, "revoke"))
			ok = ctl_number(val, 1000000000, &v) && (f->revoke_gen = v, 1);
		else
			ok = false;
		if (!ok)
			logmsg("control %s:%u: ignoring '%s %s'", opt.control, lineno, key, val);
	}
}

/* The switches in force now; called under lock. */
static struct faults current_faults(void)
{
	struct stat st;
	char *text;
	size_t len;

	if (!opt.control)
		return opt.f;
	if (stat(opt.control, &st) < 0) {
		ctl.present = false;
		return opt.f;
	}
	if (!ctl.present || st.st_dev != ctl.dev || st.st_ino != ctl.ino ||
	    st.st_size != ctl.size || st.st_mtim.tv_sec != ctl.mtime.tv_sec ||
	    st.st_mtim.tv_nsec != ctl.mtime.tv_nsec) {
		text = read_file_max(opt.control, MAX_CONTROL, &len);
		if (!text) {
			logmsg("control %s: %s", opt.control, strerror(errno));
			ctl.present = false;
			return opt.f;
		}
		ctl_parse(text, &ctl.f);
		free(text);
		ctl.present = true;
		ctl.dev = st.st_dev;
		ctl.ino = st.st_ino;
		ctl.size = st.st_size;
		ctl.mtime = st.st_mtim;
		logmsg("control %s: put-status=%u put-drop=%d delay-ms=%u get-status=%u "
		       "max-token-ttl=%u allow-v1=%d revoke=%ld", opt.control, ctl.f.put_status,
		       ctl.f.put_drop, ctl.f.delay_ms, ctl.f.get_status, ctl.f.max_ttl,
		       ctl.f.allow_v1, ctl.f.revoke_gen);
	}
	/* Each new generation revokes; a file without the key keeps the last one. */
	if (ctl.f.revoke_gen != ctl.last_gen) {
		ctl.last_gen = ctl.f.revoke_gen;
		memset(tokens, 0, sizeof(tokens));
		logmsg("control: every token revoked");
	}
	return ctl.f;
}

/* ---- tokens -------------------------------------------------------------- */

static void new_token(char *out, unsigned int ttl, unsigned int max_ttl)
{
	unsigned char raw[TOKEN_BYTES];
	unsigned int real = max_ttl && max_ttl < ttl ? max_ttl : ttl;
	int64_t now = mono_ns();
	struct token *t;
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno != EINTR)
			die("getrandom: %s", strerror(errno));
		if (n > 0)
			got += n;
	}
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
	/* Oldest first out when full: a client holding one that old has long renewed it. */
	t = &tokens[token_next];
	token_next = (token_next + 1) % MAX_TOKENS;
	memcpy(t->value, out, TOKEN_LEN + 1);
	t->expires = now + (int64_t)real * NSEC_PER_SEC;
	t->told = now + (int64_t)ttl * NSEC_PER_SEC;
	n_tokens++;
}

/* The token with this value that still works, or NULL; under lock. */
static const struct token *find_token(const char *value)
{
	int64_t now = mono_ns();
	unsigned int i;

	if (strlen(value) != TOKEN_LEN)
		return NULL;
	for (i = 0; i < MAX_TOKENS; i++) {
		if (tokens[i].value[0] && !strcmp(tokens[i].value, value))
			return tokens[i].expires > now ? &tokens[i] : NULL;
	}
	return NULL;
}

/* A TTL header value: whole seconds 1..21600, digits only; 0 if invalid. */
static unsigned int parse_ttl(const char *s)
{
	unsigned long v = 0;
	const char *p;

	if (!*s || strlen(s) > 6)
		return 0;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= MAX_TTL ? v : 0;
}

/* ---- responses ----------------------------------------------------------- */

/* Errors come as a small HTML page, as the real service sends them. */
static void error_page(struct http_resp *r, int status)
{
	r->status = status;
	r->content_type = "text/html";
	http_resp_bodyf(r,
			"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
			"<html>\n <head>\n  <title>%d - %s</title>\n </head>\n"
			" <body>\n  <h1>%d - %s</h1>\n </body>\n</html>\n",
			status, http_reason(status), status, http_reason(status));
}

static void text(struct http_resp *r, const char *s)
{
	r->status = 200;
	r->content_type = "text/plain";
	http_resp_body(r, s, strlen(s));
}

static void identity_document(struct http_resp *r)
{
	if (opt.document) {
		size_t len;
		char *doc = read_file_max(opt.document, MAX_DOC, &len);

		if (!doc) {
			logmsg("--document %s: %s", opt.document, strerror(errno));
			error_page(r, 500);
			return;
		}
		r->status = 200;
		r->content_type = "text/plain";
		r->body = doc;
		r->body_len = len;
		return;
	}
	/* The keys in the order and layout the real document has. */
	r->status = 200;
	r->content_type = "text/plain";
	http_resp_bodyf(r,
			"{\n"
			"  \"accountId\" : \"%s\",\n"
			"  \"architecture\" : \"%s\",\n"
			"  \"availabilityZone\" : \"%s\",\n"
			"  \"billingProducts\" : null,\n"
			"  \"devpayProductCodes\" : null,\n"
			"  \"marketplaceProductCodes\" : null,\n"
			"  \"imageId\" : \"%s\",\n"
			"  \"instanceId\" : \"%s\",\n"
			"  \"instanceType\" : \"%s\",\n"
			"  \"kernelId\" : null,\n"
			"  \"pendingTime\" : \"%s\",\n"
			"  \"privateIp\" : \"%s\",\n"
			"  \"ramdiskId\" : null,\n"
			"  \"region\" : \"%s\",\n"
			"  \"version\" : \"2017-09-30\"\n"
			"}",
			opt.account, opt.arch, opt.az, opt.ami, opt.instance_id, opt.instance_type,
			pending_time, opt.local_ipv4, opt.region);
}

/* The metadata value at @path, or NULL if there is none. */
static const char *meta_value(const char *path, size_t len)
{
	static const struct {
		const char *name;
		const char *const *value;
	} keys[] = {
		{ "instance-id", &opt.instance_id },
		{ "hostname", &opt.hostname },
		{ "local-hostname", &opt.hostname },
		{ "local-ipv4", &opt.local_ipv4 },
		{ "placement/availability-zone", &opt.az },
		{ "placement/region", &opt.region },
		{ "ami-id", &opt.ami },
		{ "instance-type", &opt.instance_type },
	};
	size_t i, plen = strlen(MD);

	if (len <= plen || strncmp(path, MD, plen))
		return NULL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].name) == len - plen && !strncmp(path + plen, keys[i].name,
								    len - plen))
			return *keys[i].value;
	}
	return NULL;
}

static void handle_put(const struct http_req *req, struct http_resp *r, const struct faults *f)
{
	char ttl_s[16], token[TOKEN_LEN + 1];
	unsigned int ttl;

	if (f->put_drop) {
		r->drop = true;
		return;
	}
	if (f->put_status) {
		error_page(r, f->put_status);
		return;
	}
	/* The service refuses tokens to anything that looks forwarded. */
	if (header_value(req->hdrs, "X-Forwarded-For")) {
		error_page(r, 403);
		return;
	}
	if (http_header_copy(req->hdrs, "X-aws-ec2-metadata-token-ttl-seconds", ttl_s,
			     sizeof(ttl_s)) != 1 || !(ttl = parse_ttl(ttl_s))) {
		error_page(r, 400);
		return;
	}
	new_token(token, ttl, f->max_ttl);
	text(r, token);
	http_resp_header(r, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "%u", ttl);
}

static void handle_get(const struct http_req *req, struct http_resp *r, const struct faults *f)
{
	size_t plen = http_path_len(req->target);
	const struct token *t = NULL;
	char value[TOKEN_LEN + 2];
	const char *v;
	int have;

	n_gets++;
	if (f->get_status && (!opt.fail_first || n_gets <= opt.fail_first)) {
		error_page(r, f->get_status);
		return;
	}
	/* A token that is there must be good, even where none is needed. */
	have = http_header_copy(req->hdrs, "X-aws-ec2-metadata-token", value, sizeof(value));
	if (have && (have < 0 || !(t = find_token(value)))) {
		error_page(r, 401);
		return;
	}
	if (!t && !f->allow_v1) {
		error_page(r, 401);
		return;
	}
	if (plen == strlen(DOC_PATH) && !strncmp(req->target, DOC_PATH, plen))
		identity_document(r);
	else if ((v = meta_value(req->target, plen)))
		text(r, v);
	else
		error_page(r, 404);
	if (r->status != 200)
		return;
	if (t) {
		/* What is left of the lifetime the client was told, not of a capped one. */
		int64_t left = (t->told - mono_ns()) / NSEC_PER_SEC;

		http_resp_header(r, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "%lld",
				 (long long)(left > 0 ? left : 0));
	}
	n_good_gets++;
	if (opt.revoke_after && !revoked_once && n_good_gets >= opt.revoke_after) {
		revoked_once = true;
		memset(tokens, 0, sizeof(tokens));
		logmsg("revoked every token after %lu successful GETs", n_good_gets);
	}
}

static void handle(const struct http_req *req, struct http_resp *r)
{
	size_t plen = http_path_len(req->target);
	bool token_path = plen == strlen(TOKEN_PATH) && !strncmp(req->target, TOKEN_PATH, plen);
	struct faults f;

	pthread_mutex_lock(&lock);
	f = current_faults();
	if (!strcmp(req->method, "PUT") && token_path)
		handle_put(req, r, &f);
	else if (!strcmp(req->method, "GET") && !token_path)
		handle_get(req, r, &f);
	else
		error_page(r, 405);
	pthread_mutex_unlock(&lock);
	r->delay = f.delay_ms / 1000.0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imdssim [--bind ADDR] [--port P] [--port-file FILE] [--duration SECONDS]\n"
		"               [--quiet] [identity options] [fault options] [--control FILE]\n"
		"  --bind ADDR            loopback address (default 127.0.0.1)\n"
		"  --port P               TCP port, 0 = ephemeral (default 0)\n"
		"  --port-file FILE       write the bound port to FILE (atomically)\n"
		"  --duration SEC         exit after SEC seconds (default 600)\n"
		"  --quiet                no log lines on stderr\n"
		"identity:\n"
		"  --instance-id ID       (default i-0123456789abcdef0)\n"
		"  --account ID           (default 123456789012)\n"
		"  --region R             (default us-east-1)\n"
		"  --az ZONE              (default REGION + \"a\")\n"
		"  --ami ID               (default ami-0abcdef1234567890)\n"
		"  --instance-type T      (default m5.large)\n"
		"  --arch A               (default x86_64)\n"
		"  --hostname H           hostname and local-hostname\n"
		"                         (default ip-10-0-0-12.ec2.internal)\n"
		"  --local-ipv4 A         local-ipv4 and privateIp (default 10.0.0.12)\n"
		"  --document FILE        serve FILE verbatim as the identity document\n"
		"                         (read again on every request)\n"
		"  --allow-v1             GETs without a token are answered too (IMDSv1)\n"
		"faults:\n"
		"  --max-token-ttl N      tokens stop working after min(requested, N) seconds\n"
		"  --put-status CODE      answer every token PUT with CODE\n"
		"  --put-drop             never answer a token PUT (the connection stays open)\n"
		"  --delay-ms N           wait N ms before every response\n"
		"  --get-status CODE      answer GETs with CODE\n"
		"  --fail-first N         only the first N GETs get --get-status (default 500)\n"
		"  --revoke-after N       after N successful GETs, revoke every token, once\n"
		"  --control FILE         'KEY VALUE' lines overriding put-status, put-drop,\n"
		"                         delay-ms, get-status, max-token-ttl, allow-v1 while\n"
		"                         FILE exists; 'revoke G': a new G revokes all tokens\n");
}

/* A value served as text and inside the JSON document: printable, no quote or backslash. */
static const char *value_opt(const char *name, const char *s)
{
	const char *p;

	if (!*s || strlen(s) > MAX_VALUE)
		die("invalid %s '%s' (expected 1..%d characters)", name, s, MAX_VALUE);
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\')
			die("invalid %s '%s' (printable ASCII without '\"' or '\\' only)", name, s);
	}
	return s;
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_BIND = 256, O_PORT, O_PORT_FILE, O_DURATION, O_QUIET, O_INSTANCE_ID, O_ACCOUNT,
		O_REGION, O_AZ, O_AMI, O_INSTANCE_TYPE, O_ARCH, O_HOSTNAME, O_LOCAL_IPV4,
		O_DOCUMENT, O_ALLOW_V1, O_MAX_TTL, O_PUT_STATUS, O_PUT_DROP, O_DELAY_MS,
		O_GET_STATUS, O_FAIL_FIRST, O_REVOKE_AFTER, O_CONTROL,
	};
	static const struct option lopts[] = {
		{ "bind", required_argument, NULL, O_BIND },
		{ "port", required_argument, NULL, O_PORT },
		{ "port-file", required_argument, NULL, O_PORT_FILE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "instance-id", required_argument, NULL, O_INSTANCE_ID },
		{ "account", required_argument, NULL, O_ACCOUNT },
		{ "region", required_argument, NULL, O_REGION },
		{ "az", required_argument, NULL, O_AZ },
		{ "ami", required_argument, NULL, O_AMI },
		{ "instance-type", required_argument, NULL, O_INSTANCE_TYPE },
		{ "arch", required_argument, NULL, O_ARCH },
		{ "hostname", required_argument, NULL, O_HOSTNAME },
		{ "local-ipv4", required_argument, NULL, O_LOCAL_IPV4 },
		{ "document", required_argument, NULL, O_DOCUMENT },
		{ "allow-v1", no_argument, NULL, O_ALLOW_V1 },
		{ "max-token-ttl", required_argument, NULL, O_MAX_TTL },
		{ "put-status", required_argument, NULL, O_PUT_STATUS },
		{ "put-drop", no_argument, NULL, O_PUT_DROP },
		{ "delay-ms", required_argument, NULL, O_DELAY_MS },
		{ "get-status", required_argument, NULL, O_GET_STATUS },
		{ "fail-first", required_argument, NULL, O_FAIL_FIRST },
		{ "revoke-after", required_argument, NULL, O_REVOKE_AFTER },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char az[MAX_VALUE + 2];
	int c;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case O_BIND:
			opt.bind_addr = optarg;
			break;
		case O_PORT:
			opt.port = parse_port("--port", optarg);
			break;
		case O_PORT_FILE:
			opt.port_file = optarg;
			break;
		case O_DURATION:
			opt.duration = parse_seconds("--duration", optarg, 0.001, 7 * 86400);
			break;
		case O_QUIET:
			tool_quiet = true;
			break;
		case O_INSTANCE_ID:
			opt.instance_id = value_opt("--instance-id", optarg);
			break;
		case O_ACCOUNT:
			opt.account = value_opt("--account", optarg);
			break;
		case O_REGION:
			opt.region = value_opt("--region", optarg);
			break;
		case O_AZ:
			opt.az = value_opt("--az", optarg);
			break;
		case O_AMI:
			opt.ami = value_opt("--ami", optarg);
			break;
		case O_INSTANCE_TYPE:
			opt.instance_type = value_opt("--instance-type", optarg);
			break;
		case O_ARCH:
			opt.arch = value_opt("--arch", optarg);
			break;
		case O_HOSTNAME:
			opt.hostname = value_opt("--hostname", optarg);
			break;
		case O_LOCAL_IPV4:
			opt.local_ipv4 = value_opt("--local-ipv4", optarg);
			break;
		case O_DOCUMENT:
			opt.document = optarg;
			break;
		case O_ALLOW_V1:
			opt.f.allow_v1 = true;
			break;
		case O_MAX_TTL:
			opt.f.max_ttl = parse_uint("--max-token-ttl", optarg, 1, MAX_TTL);
			break;
		case O_PUT_STATUS:
			opt.f.put_status = parse_uint("--put-status", optarg, 200, 599);
			break;
		case O_PUT_DROP:
			opt.f.put_drop = true;
			break;
		case O_DELAY_MS:
			opt.f.delay_ms = parse_uint("--delay-ms", optarg, 0, 600000);
			break;
		case O_GET_STATUS:
			opt.f.get_status = parse_uint("--get-status", optarg, 200, 599);
			break;
		case O_FAIL_FIRST:
			opt.fail_first = parse_uint("--fail-first", optarg, 1, 1000000000);
			break;
		case O_REVOKE_AFTER:
			opt.revoke_after = parse_uint("--revoke-after", optarg, 1, 1000000000);
			break;
		case O_CONTROL:
			opt.control = optarg;
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
	if (opt.fail_first && !opt.f.get_status)
		opt.f.get_status = 500;
	if (opt.f.put_drop && opt.f.put_status)
		die("--put-drop and --put-status exclude each other");
	if (!opt.az) {
		snprintf(az, sizeof(az), "%sa", opt.region);
		opt.az = az;
	}
	if (opt.document && access(opt.document, R_OK) < 0)
		die("--document %s: %s", opt.document, strerror(errno));
}

int main(int argc, char **argv)
{
	struct http_server srv = { 0 };
	time_t now = time(NULL);
	struct tm tm;

	parse_args(argc, argv);
	gmtime_r(&now, &tm);
	strftime(pending_time, sizeof(pending_time), "%Y-%m-%dT%H:%M:%SZ", &tm);

	srv.bind_addr = opt.bind_addr;
	srv.port = opt.port;
	srv.port_file = opt.port_file;
	srv.duration = opt.duration;
	srv.max_conns = 256;
	srv.server_header = "EC2ws";
	srv.handler = handle;
	http_serve(&srv);
	pthread_mutex_lock(&lock);
	logmsg("summary tokens=%lu gets=%lu good_gets=%lu", n_tokens, n_gets, n_good_gets);
	pthread_mutex_unlock(&lock);
	return 0;
}
