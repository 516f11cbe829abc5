// SPDX-License-Identifier: GPL-2.0
/*
 * ecssim - a loopback stand-in for the ECS container agent's introspection
 * API (port 51678 on a container instance), for the integration tests of
 * minerwatch's ECS client.
 *
 *   GET /v1/metadata              cluster, container instance ARN, agent version
 *   GET /v1/tasks                 {"Tasks":[...]} from the --tasks file
 *   GET /v1/tasks?dockerid=ID     the task that has a container with that id
 *   GET /v1/tasks?taskarn=ARN     the task with that ARN
 *   GET /license                  a line of text
 *   anything else                 200 {"AvailableCommands":[...]}
 *
 * The behaviour modelled is the agent's current introspection server
 * (amazon-ecs-agent, ecs-agent/introspection/v1/handlers/handlers.go and
 * agent/handlers/v1/introspectionstate.go), which does not look at the
 * method:
 *
 *  - dockerid longer than 12 characters must equal a container's full id;
 *    one of 12 or fewer is a prefix (a short id), and must match exactly one
 *    container (two matches, even two containers of the same task: 400).
 *  - no match for dockerid or taskarn: 404 with the empty task object
 *    {"Arn":"","KnownStatus":"","Family":"","Version":"","Containers":null};
 *    both parameters at once: 400 with the same body.
 *  - task lookups and the list are application/json; the root listing has
 *    no Content-Type of its own (Go then sniffs text/plain; charset=utf-8).
 *
 * Older agents (agent/handlers/v1_handlers.go) answered an unknown id with
 * 400 and the same empty object, and matched only full ids; not modelled.
 *
 * The tasks file is read again on every request, so a test changes what the
 * agent knows by replacing it (write a temporary file, rename it). A missing
 * file means no tasks; one that is not JSON makes every task request fail
 * with 500 and the empty body of its kind, as when the agent cannot read its
 * state. Task objects are served as they are in the file.
 *
 * stdout: "listening ADDR:PORT", then one "METHOD TARGET STATUS" line per
 * request (see toolhttp.h).
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolhttp.h"
#include "toolnet.h"
#include "toolutil.h"

#define MAX_TASKS_FILE	(64 * 1024 * 1024)
#define MAX_VALUE	255
/* Ids of this many characters or fewer are matched as prefixes. */
#define SHORT_ID_LEN	12
#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#define CT_JSON		"application/json"
#define CT_SNIFFED	"text/plain; charset=utf-8"

const char tool_name[] = "ecssim";

static struct {
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	double duration;
	const char *cluster, *region, *account, *instance_id, *agent_version;
	const char *tasks;
	unsigned int delay_ms;
	unsigned int status;
	bool garbage;
} opt = {
	.bind_addr = "127.0.0.1",
	.duration = 600.0,
	.cluster = "default",
	.region = "us-east-1",
	.account = "123456789012",
	.instance_id = "5c1f2a3b4d6e4f708192a3b4c5d6e7f8",
	.agent_version = "Amazon ECS Agent - v1.82.1 (f2c9a4e8)",
};

/* What the agent sends when it has nothing of the kind asked for. */
static const char empty_task[] =
	"{\"Arn\":\"\",\"KnownStatus\":\"\",\"Family\":\"\",\"Version\":\"\",\"Containers\":null}";
static const char empty_tasks[] = "{\"Tasks\":null}";
static const char empty_metadata[] =
	"{\"Cluster\":\"\",\"ContainerInstanceArn\":null,\"Version\":\"\"}";
static const char root_listing[] =
	"{\"AvailableCommands\":[\"/v1/metadata\",\"/v1/tasks\",\"/license\"]}";
static const char license_text[] = "ecssim: license text of the simulated ECS agent\n";
static const char garbage_body[] = "<html><body><h1>502 Bad Gateway</h1></body></html>\n";

static char metadata_json[2048];

enum endpoint { EP_ROOT, EP_METADATA, EP_TASKS, EP_TASK, EP_LICENSE };

/* ---- the tasks file ------------------------------------------------------ */

/*
 * The tasks file as JSON: a new reference, NULL with *@bad false when there
 * is no file (or no --tasks), NULL with *@bad true when it cannot be used.
 */
static json_object *load_tasks(bool *bad)
{
	struct json_tokener *tok;
	json_object *root;
	size_t len, used;
	char *text;

	*bad = false;
	if (!opt.tasks)
		return NULL;
	text = read_file_max(opt.tasks, MAX_TASKS_FILE, &len);
	if (!text) {
		if (errno == ENOENT)
			return NULL;
		logmsg("--tasks %s: %s", opt.tasks, strerror(errno));
		*bad = true;
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok)
		die("out of memory");
	root = json_tokener_parse_ex(tok, text, (int)len);
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
	used = json_tokener_get_parse_end(tok);
#else
	used = tok->char_offset;	/* json-c 0.14 (Amazon Linux 2023) */
#endif
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    text[used + strspn(text + used, " \t\r\n")] != '\0') {
		enum json_tokener_error e = json_tokener_get_error(tok);

		logmsg("--tasks %s: not JSON (%s)", opt.tasks,
		       e == json_tokener_continue ? "cut short" :
		       e == json_tokener_success ? "text after the value" :
		       json_tokener_error_desc(e));
		json_object_put(root);
		root = NULL;
		*bad = true;
	}
	json_tokener_free(tok);
	free(text);
	return root;
}

/* The Tasks array of the file, or NULL if it has none. */
static json_object *tasks_array(json_object *root)
{
	json_object *arr;

	if (!root || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "Tasks", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	return arr;
}

static const char *string_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * The task holding the container @id names: the full id, or for 12 or fewer
 * characters a prefix. *@matches counts matching containers, as the agent
 * counts one task per matching container.
 */
static json_object *task_by_docker_id(json_object *arr, const char *id, unsigned int *matches)
{
	size_t idlen = strlen(id), i, j;
	json_object *found = NULL;

	*matches = 0;
	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *task = json_object_array_get_idx(arr, i), *ctrs;

		if (!json_object_is_type(task, json_type_object) ||
		    !json_object_object_get_ex(task, "Containers", &ctrs) ||
		    !json_object_is_type(ctrs, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(ctrs); j++) {
			json_object *ctr = json_object_array_get_idx(ctrs, j);
			const char *d = string_field(ctr, "DockerId");

			if (!d)
				continue;
			if (idlen > SHORT_ID_LEN ? !strcmp(d, id) : !strncmp(d, id, idlen)) {
				(*matches)++;
				found = task;
			}
		}
	}
	return found;
}

static json_object *task_by_arn(json_object *arr, const char *arn)
{
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *task = json_object_array_get_idx(arr, i);
		const char *a = string_field(task, "Arn");

		if (a && !strcmp(a, arn))
			return task;
	}
	return NULL;
}

/* ---- responses ----------------------------------------------------------- */

static void reply(struct http_resp *r, int status, const char *ct, const char *body)
{
	r->status = status;
	r->content_type = ct;
	http_resp_body(r, body, strlen(body));
}

static void reply_json(struct http_resp *r, json_object *o)
{
	reply(r, 200, CT_JSON, json_object_to_json_string_ext(o, JSON_FLAGS));
}

static void tasks_list(struct http_resp *r)
{
	bool bad;
	json_object *root = load_tasks(&bad), *arr = tasks_array(root), *out;

	if (bad) {
		reply(r, 500, CT_JSON, empty_tasks);
		return;
	}
	if (root && !arr) {
		/* JSON of another shape: passed on as it is, for the client to cope with. */
		reply_json(r, root);
		json_object_put(root);
		return;
	}
	out = json_object_new_object();
	json_object_object_add(out, "Tasks", arr ? json_object_get(arr) : json_object_new_array());
	reply_json(r, out);
	json_object_put(out);
	json_object_put(root);
}

static void task_lookup(const struct http_req *req, struct http_resp *r)
{
	char id[1024], arn[1024];
	int have_id = http_query_param(req->target, "dockerid", id, sizeof(id));
	int have_arn = http_query_param(req->target, "taskarn", arn, sizeof(arn));
	json_object *root, *arr, *task;
	unsigned int matches = 0;
	bool bad;

	if (have_id && have_arn) {
		reply(r, 400, CT_JSON, empty_task);
		return;
	}
	root = load_tasks(&bad);
	if (bad) {
		reply(r, 500, CT_JSON, empty_task);
		return;
	}
	arr = tasks_array(root);
	/* A value too long for the buffer cannot name anything here. */
	if (have_id)
		task = have_id > 0 ? task_by_docker_id(arr, id, &matches) : NULL;
	else
		task = have_arn > 0 ? task_by_arn(arr, arn) : NULL;
	if (matches > 1)
		reply(r, 400, CT_JSON, empty_task);
	else if (task)
		reply_json(r, task);
	else
		reply(r, 404, CT_JSON, empty_task);
	json_object_put(root);
}

static enum endpoint endpoint_of(const struct http_req *req)
{
	size_t plen = http_path_len(req->target);

	if (plen == strlen("/v1/metadata") && !strncmp(req->target, "/v1/metadata", plen))
		return EP_METADATA;
	if (plen == strlen("/license") && !strncmp(req->target, "/license", plen))
		return EP_LICENSE;
	if (plen == strlen("/v1/tasks") && !strncmp(req->target, "/v1/tasks", plen)) {
		char v[8];

		return http_query_param(req->target, "dockerid", v, sizeof(v)) ||
		       http_query_param(req->target, "taskarn", v, sizeof(v)) ? EP_TASK : EP_TASKS;
	}
	return EP_ROOT;
}

static void handle(const struct http_req *req, struct http_resp *r)
{
	enum endpoint ep = endpoint_of(req);

	r->delay = opt.delay_ms / 1000.0;
	if (opt.garbage) {
		reply(r, 200, CT_JSON, garbage_body);
		return;
	}
	if (opt.status) {
		static const char *const bodies[] = {
			[EP_ROOT] = root_listing, [EP_METADATA] = empty_metadata,
			[EP_TASKS] = empty_tasks, [EP_TASK] = empty_task, [EP_LICENSE] = "",
		};

		reply(r, opt.status, ep == EP_ROOT || ep == EP_LICENSE ? CT_SNIFFED : CT_JSON,
		      bodies[ep]);
		return;
	}
	switch (ep) {
	case EP_METADATA:
		reply(r, 200, CT_JSON, metadata_json);
		break;
	case EP_TASKS:
		tasks_list(r);
		break;
	case EP_TASK:
		task_lookup(req, r);
		break;
	case EP_LICENSE:
		reply(r, 200, CT_SNIFFED, license_text);
		break;
	default:
		reply(r, 200, CT_SNIFFED, root_listing);
		break;
	}
}

/* ---- main ---------------------------------------------------------------- */

static const char *partition(const char *region)
{
	if (!strncmp(region, "cn-", 3))
		return "aws-cn";
	if (!strncmp(region, "us-gov-", 7))
		return "aws-us-gov";
	return "aws";
}

static void build_metadata(void)
{
	json_object *o = json_object_new_object();
	char arn[1024];

	snprintf(arn, sizeof(arn), "arn:%s:ecs:%s:%s:container-instance/%s/%s",
		 partition(opt.region), opt.region, opt.account, opt.cluster, opt.instance_id);
	json_object_object_add(o, "Cluster", json_object_new_string(opt.cluster));
	json_object_object_add(o, "ContainerInstanceArn", json_object_new_string(arn));
	json_object_object_add(o, "Version", json_object_new_string(opt.agent_version));
	snprintf(metadata_json, sizeof(metadata_json), "%s",
		 json_object_to_json_string_ext(o, JSON_FLAGS));
	json_object_put(o);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ecssim [--bind ADDR] [--port P] [--port-file FILE] [--duration SECONDS]\n"
		"              [--quiet] [--cluster NAME] [--region R] [--account ID]\n"
		"              [--container-instance-id ID] [--agent-version TEXT] [--tasks FILE]\n"
		"              [--delay-ms N] [--status CODE | --garbage]\n"
		"  --bind ADDR               loopback address (default 127.0.0.1)\n"
		"  --port P                  TCP port, 0 = ephemeral (default 0)\n"
		"  --port-file FILE          write the bound port to FILE (atomically)\n"
		"  --duration SEC            exit after SEC seconds (default 600)\n"
		"  --quiet                   no log lines on stderr\n"
		"  --cluster NAME            cluster name (default default)\n"
		"  --region R                region in the ARNs (default us-east-1)\n"
		"  --account ID              account in the ARNs (default 123456789012)\n"
		"  --container-instance-id ID  last part of the container instance ARN\n"
		"  --agent-version TEXT      Version in /v1/metadata\n"
		"                            (default \"Amazon ECS Agent - v1.82.1 (f2c9a4e8)\")\n"
		"  --tasks FILE              {\"Tasks\":[...]} as /v1/tasks returns it; read\n"
		"                            again on every request (default: no tasks)\n"
		"  --delay-ms N              wait N ms before every response\n"
		"  --status CODE             answer everything with CODE and an empty body\n"
		"  --garbage                 answer everything 200 with a body that is not JSON\n");
}

static const char *value_opt(const char *name, const char *s)
{
	const char *p;

	if (!*s || strlen(s) > MAX_VALUE)
		die("invalid %s '%s' (expected 1..%d characters)", name, s, MAX_VALUE);
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			die("invalid %s '%s' (printable ASCII only)", name, s);
	}
	return s;
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_BIND = 256, O_PORT, O_PORT_FILE, O_DURATION, O_QUIET, O_CLUSTER, O_REGION,
		O_ACCOUNT, O_INSTANCE_ID, O_AGENT_VERSION, O_TASKS, O_DELAY_MS, O_STATUS,
		O_GARBAGE,
	};
	static const struct option lopts[] = {
		{ "bind", required_argument, NULL, O_BIND },
		{ "port", required_argument, NULL, O_PORT },
		{ "port-file", required_argument, NULL, O_PORT_FILE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "region", required_argument, NULL, O_REGION },
		{ "account", required_argument, NULL, O_ACCOUNT },
		{ "container-instance-id", required_argument, NULL, O_INSTANCE_ID },
		{ "agent-version", required_argument, NULL, O_AGENT_VERSION },
		{ "tasks", required_argument, NULL, O_TASKS },
		{ "delay-ms", required_argument, NULL, O_DELAY_MS },
		{ "status", required_argument, NULL, O_STATUS },
		{ "garbage", no_argument, NULL, O_GARBAGE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
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
		case O_CLUSTER:
			opt.cluster = value_opt("--cluster", optarg);
			break;
		case O_REGION:
			opt.region = value_opt("--region", optarg);
			break;
		case O_ACCOUNT:
			opt.account = value_opt("--account", optarg);
			break;
		case O_INSTANCE_ID:
			opt.instance_id = value_opt("--container-instance-id", optarg);
			break;
		case O_AGENT_VERSION:
			opt.agent_version = value_opt("--agent-version", optarg);
			break;
		case O_TASKS:
			opt.tasks = optarg;
			break;
		case O_DELAY_MS:
			opt.delay_ms = parse_uint("--delay-ms", optarg, 0, 600000);
			break;
		case O_STATUS:
			opt.status = parse_uint("--status", optarg, 200, 599);
			break;
		case O_GARBAGE:
			opt.garbage = true;
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
	if (opt.status && opt.garbage)
		die("--status and --garbage exclude each other");
}

int main(int argc, char **argv)
{
	struct http_server srv = { 0 };

	parse_args(argc, argv);
	build_metadata();
	srv.bind_addr = opt.bind_addr;
	srv.port = opt.port;
	srv.port_file = opt.port_file;
	srv.duration = opt.duration;
	srv.max_conns = 256;
	srv.handler = handle;
	return http_serve(&srv);
}
