// SPDX-License-Identifier: Apache-2.0
/*
 * Cloud and container context in the finding: finding__build (OCSF) and
 * finding__build_asff (AWS Security Finding Format) for
 *
 *   (a) no instance context: no cloud, no resources, the reason in unmapped;
 *       no ASFF at all (*no_context)
 *   (b) an EC2 instance, not containerised
 *   (c) an ECS task's container on an instance, with its cluster
 *   (d) a container whose task the ECS agent could not name
 *
 * The ASFF object is checked attribute by attribute against the format's
 * rules (required attributes and their types, the Types taxonomy, timestamps,
 * the length limits of Title and Description, Resources, ProductFields), in
 * the aws, aws-cn and aws-us-gov partitions. Instance, agent and task
 * context comes from the real parsers fed with replies shaped like the
 * services' own. Every line produced is checked to be one line of valid
 * UTF-8 JSON, also when the process's name, path and arguments are hostile.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "correlator.h"
#include "ecs.h"
#include "finding.h"
#include "imds.h"
#include "testutil.h"
#include "text.h"

#define BOOT_ID "0f6c1f3a-9a51-4d0e-8b43-2a6f1e9b7c55"
#define T0 1718000000000ULL
#define T0_ISO "2024-06-10T06:13:20.000Z"
#define T5_ISO "2024-06-10T06:13:25.000Z"

#define ACCT "123456789012"
#define REGION "us-east-1"
#define IID "i-0a1b2c3d4e5f60718"
#define AMI "ami-0e3f5a7c9b1d24680"
#define DOCKER_ID "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
#define TASK_ID "0c6f2d4e8a1b4c3d9e7f5a2b1c0d9e8f"
#define TASK_ARN "arn:aws:ecs:" REGION ":" ACCT ":task/mycluster/" TASK_ID
#define CI_ARN "arn:aws:ecs:" REGION ":" ACCT ":container-instance/mycluster/" \
	       "5e1c0b7a9d3f4e2b8c6a1d0f9e8b7a65"
#define CLUSTER_ARN "arn:aws:ecs:" REGION ":" ACCT ":cluster/mycluster"
#define IMAGE ACCT ".dkr.ecr." REGION ".amazonaws.com/batch/worker:2.4.1"
#define IMAGE_ID "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac"
#define NO_IMDS "IMDS unreachable: token PUT: no reply within 1000 ms"
#define NO_TASK "the ECS agent knows no task with container 3f2a1b0c9d8e"

static struct detect_cfg cfg;

struct fixture {
	struct signals s;
	struct verdict v;
	struct finding_in in;
	struct instance_info inst;
	struct container_ref ctr;
	struct ecs_task_info task;
	struct ecs_agent_info ecs;
	char uid[37];
	char *cmdline;
};

/* --- inputs -------------------------------------------------------------- */

static void miner_signals(struct signals *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "xmrig");
	s->pid = 4242;
	s->cpu_cores = 3.9;
	s->cpu_seconds = cfg.cpu_window_s;
	s->busy_threads = 4;
	s->proto.kind = PROTO_STRATUM_V1;
	snprintf(s->proto.method, sizeof(s->proto.method), "mining.subscribe");
	snprintf(s->proto_peer, sizeof(s->proto_peer), "203.0.113.7:3333");
	s->has_conn = true;
	snprintf(s->conn_peer, sizeof(s->conn_peer), "203.0.113.7:3333");
	s->conn_port = 3333;
	s->conn_age_s = 600;
	s->conn_bytes_out = 60000;
	s->conn_bytes_in = 240000;
	s->conn_msgs_out = 120;
	s->conn_msgs_in = 300;
	s->conn_pushes = 20;
	s->nconns = 1;
}

/* A host process, no cloud context: case (a). */
static void base_input(struct fixture *f)
{
	static const char args[] = "/opt/.cache/xmrig\0-o\0pool.example.org:3333\0--tls";

	memset(f, 0, sizeof(*f));
	miner_signals(&f->s);
	correlator__judge(&cfg, &f->s, &f->v);
	assert_int_equal(f->v.severity_id, 5);
	finding__uid(BOOT_ID, 4242, 424242, f->uid);

	f->in.activity = FINDING_CREATE;
	f->in.uid = f->uid;
	f->in.time_ms = T0 + 5000;
	f->in.first_seen_ms = T0;
	f->in.last_seen_ms = T0 + 5000;
	f->in.verdict = &f->v;
	f->in.signals = &f->s;
	f->in.hostname = "ip-10-0-1-23.ec2.internal";
	f->in.boot_id = BOOT_ID;
	f->in.os_name = "Amazon Linux";
	f->in.kernel_release = "6.1.92-99.174.amzn2023.x86_64";
	f->in.instance = NULL;
	f->in.instance_missing = NO_IMDS;
	f->in.pid = 4242;
	f->in.comm = "xmrig";
	f->in.exe = "/opt/.cache/xmrig";
	f->in.cmdline = args;
	f->in.cmdline_len = sizeof(args) - 1;
	f->in.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	f->in.created_ms = T0 - 60000;
	f->in.user_uid = 1000;
	f->in.user_name = "miner";
	f->in.ppid = 1;
	f->in.parent_comm = "systemd";
	f->in.cgroup_id = 7777;
	snprintf(f->in.peers[0].ip, sizeof(f->in.peers[0].ip), "203.0.113.7");
	f->in.peers[0].port = 3333;
	f->in.npeers = 1;
}

/* Instance context as imds__parse_identity gives it from an identity document. */
static void with_instance_in(struct fixture *f, const char *account, const char *region,
			     const char *zone)
{
	char doc[1024], err[256];
	int n = snprintf(doc, sizeof(doc),
			 "{\n  \"accountId\" : \"%s\",\n  \"architecture\" : \"x86_64\",\n"
			 "  \"availabilityZone\" : \"%s\",\n  \"billingProducts\" : null,\n"
			 "  \"devpayProductCodes\" : null,\n  \"marketplaceProductCodes\" : null,\n"
			 "  \"imageId\" : \"" AMI "\",\n  \"instanceId\" : \"" IID "\",\n"
			 "  \"instanceType\" : \"m5.xlarge\",\n  \"kernelId\" : null,\n"
			 "  \"pendingTime\" : \"2024-06-10T05:41:07Z\",\n"
			 "  \"privateIp\" : \"10.0.1.23\",\n  \"ramdiskId\" : null,\n"
			 "  \"region\" : \"%s\",\n  \"version\" : \"2017-09-30\"\n}",
			 account, zone, region);

	assert_true(n > 0 && (size_t)n < sizeof(doc));
	if (imds__parse_identity(doc, (size_t)n, &f->inst, err, sizeof(err)))
		fail_msg("identity document refused: %s", err);
	assert_int_equal(imds__parse_hostname("ip-10-0-1-23.ec2.internal\n", 26, f->inst.hostname,
					      sizeof(f->inst.hostname)), 0);
	assert_int_equal(imds__parse_ipv4("10.0.1.23", 9, f->inst.local_ipv4,
					  sizeof(f->inst.local_ipv4)), 0);
	f->in.instance = &f->inst;
	f->in.instance_missing = NULL;
}

static void with_instance(struct fixture *f)
{
	with_instance_in(f, ACCT, REGION, "us-east-1c");
}

/* An ECS-managed Docker container, as container__parse names it. */
static void with_container(struct fixture *f)
{
	snprintf(f->ctr.runtime, sizeof(f->ctr.runtime), "docker");
	snprintf(f->ctr.id, sizeof(f->ctr.id), DOCKER_ID);
	f->ctr.orch = ORCH_ECS;
	snprintf(f->ctr.ecs_task_id, sizeof(f->ctr.ecs_task_id), TASK_ID);
	f->in.container = &f->ctr;
	f->in.ns_pid = 7;
}

/* The agent's /v1/metadata and ?dockerid= replies, through the real parsers. */
static void with_task(struct fixture *f)
{
	static const char md[] = "{\"Cluster\":\"mycluster\",\"ContainerInstanceArn\":\"" CI_ARN
				 "\",\"Version\":\"Amazon ECS Agent - v1.82.4 (4b1c2d3e)\"}";
	static const char task[] =
		"{\"Arn\":\"" TASK_ARN "\",\"DesiredStatus\":\"RUNNING\",\"KnownStatus\":"
		"\"RUNNING\",\"Family\":\"batch_jobs\",\"Version\":\"4\",\"Containers\":["
		"{\"DockerId\":\"9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b\","
		"\"DockerName\":\"ecs-batch_jobs-4-log-router-e4f6a8c0b2d4e6f80901\",\"Name\":"
		"\"log-router\",\"Volumes\":[]},{\"DockerId\":\"" DOCKER_ID "\",\"DockerName\":"
		"\"ecs-batch_jobs-4-worker-a2c4e6f8b0d2e4f6a801\",\"Name\":\"worker\",\"Image\":"
		"\"" IMAGE "\",\"ImageID\":\"" IMAGE_ID "\",\"Volumes\":"
		"[{\"DockerName\":\"data\",\"Source\":\"/var/data\",\"Destination\":\"/data\"}]}]}";
	char err[256];

	if (ecs__parse_metadata(md, sizeof(md) - 1, &f->ecs, err, sizeof(err)))
		fail_msg("agent metadata refused: %s", err);
	assert_string_equal(f->ecs.cluster_arn, CLUSTER_ARN);
	if (ecs__parse_task(task, sizeof(task) - 1, DOCKER_ID, &f->task, err, sizeof(err)))
		fail_msg("task refused: %s", err);
	assert_string_equal(f->task.container_name, "worker");
	assert_string_equal(f->task.image, IMAGE);
	assert_string_equal(f->task.image_id, IMAGE_ID);
	f->in.task = &f->task;
	f->in.ecs = &f->ecs;
	f->in.task_missing = NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	correlator__defaults(&cfg);
	base_input(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f)
		free(f->cmdline);
	free(f);
	return 0;
}

/* --- JSON helpers ---------------------------------------------------------- */

/* Follows "a/b/0/c" (array indices where the value is an array); NULL if absent. */
static json_object *jfind(json_object *root, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_object *o = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && o; tok = strtok_r(NULL, "/", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);

			o = *end || i >= json_object_array_length(o) ?
				    NULL :
				    json_object_array_get_idx(o, i);
		} else if (!json_object_is_type(o, json_type_object) ||
			   !json_object_object_get_ex(o, tok, &o)) {
			o = NULL;
		}
	}
	return o;
}

static json_object *jpath(json_object *root, const char *path)
{
	json_object *o = jfind(root, path);

	if (!o)
		fail_msg("no %s in the finding", path);
	return o;
}

static bool jhas(json_object *root, const char *path)
{
	return jfind(root, path) != NULL;
}

static const char *jstr(json_object *root, const char *path)
{
	json_object *o = jpath(root, path);

	if (!json_object_is_type(o, json_type_string))
		fail_msg("%s is not a string", path);
	return json_object_get_string(o);
}

static int64_t jint(json_object *root, const char *path)
{
	json_object *o = jpath(root, path);

	if (!json_object_is_type(o, json_type_int))
		fail_msg("%s is not an integer", path);
	return json_object_get_int64(o);
}

static json_object *jarr(json_object *root, const char *path)
{
	json_object *o = jpath(root, path);

	if (!json_object_is_type(o, json_type_array))
		fail_msg("%s is not an array", path);
	return o;
}

static void expect_str(json_object *root, const char *path, const char *want)
{
	const char *got = jstr(root, path);

	if (strcmp(got, want))
		fail_msg("%s is \"%s\", want \"%s\"", path, got, want);
}

/* A ProductFields value: its keys hold '/', so they are not path components. */
static json_object *pf_find(json_object *root, const char *key)
{
	json_object *o;

	if (!json_object_object_get_ex(jpath(root, "ProductFields"), key, &o))
		return NULL;
	return o;
}

static void expect_pf(json_object *root, const char *key, const char *want)
{
	json_object *o = pf_find(root, key);

	if (!o || !json_object_is_type(o, json_type_string))
		fail_msg("no string ProductFields \"%s\"", key);
	if (strcmp(json_object_get_string(o), want))
		fail_msg("ProductFields \"%s\" is \"%s\", want \"%s\"", key,
			 json_object_get_string(o), want);
}

/* Characters (code points) of a valid UTF-8 string. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		size_t n = text__utf8_seq_len(u + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* One line of valid UTF-8 without control bytes, exactly one JSON object. */
static json_object *check_line(const char *line)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t len = strlen(line);
	struct json_tokener *tok;
	json_object *root;

	assert_true(len > 0 && len < 64 * 1024);
	for (size_t i = 0; i < len;) {
		size_t n = text__utf8_seq_len(u + i, len - i);

		if (!n)
			fail_msg("invalid UTF-8 at offset %zu of %s", i, line);
		if (n == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			fail_msg("control byte 0x%02x at offset %zu", u[i], i);
		i += n;
	}
	tok = json_tokener_new();
	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, line, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)tok->char_offset != len)
		fail_msg("not exactly one strict JSON value: %s", line);
	json_tokener_free(tok);
	assert_true(json_object_is_type(root, json_type_object));
	return root;
}

static json_object *build_ocsf(const struct fixture *f)
{
	char *line = finding__build(&f->in);
	json_object *root;

	assert_non_null(line);
	root = check_line(line);
	free(line);
	return root;
}

static json_object *build_asff(const struct fixture *f)
{
	bool no_context = true;
	char *line = finding__build_asff(&f->in, &no_context);
	json_object *root;

	assert_non_null(line);
	assert_false(no_context);
	root = check_line(line);
	free(line);
	return root;
}

/* metadata.profiles is exactly these, in this order. */
static void expect_profiles(json_object *root, const char *const *want, size_t n)
{
	json_object *p = jarr(root, "metadata/profiles");

	assert_int_equal(json_object_array_length(p), n);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(p, i);

		assert_true(json_object_is_type(e, json_type_string));
		assert_string_equal(json_object_get_string(e), want[i]);
	}
}

/* The OCSF resources[] entry of this type, NULL when there is none; at most one. */
static json_object *ocsf_resource(json_object *root, const char *type)
{
	json_object *arr = jfind(root, "resources"), *found = NULL;

	if (!arr)
		return NULL;
	assert_true(json_object_is_type(arr, json_type_array));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *r = json_object_array_get_idx(arr, i);

		if (!strcmp(jstr(r, "type"), type)) {
			MW_FAIL_IF(found, "two OCSF resources of one type");
			found = r;
		}
	}
	return found;
}

/* --- ASFF rules ------------------------------------------------------------ */

/* The top-level attributes ASFF defines; anything else is refused on import. */
static const char *const asff_attributes[] = {
	"Action", "AwsAccountId", "AwsAccountName", "CompanyName", "Compliance", "Confidence",
	"CreatedAt", "Criticality", "Description", "Detection", "FindingProviderFields",
	"FirstObservedAt", "GeneratorDetails", "GeneratorId", "Id", "LastObservedAt", "Malware",
	"Network", "NetworkPath", "Note", "PatchSummary", "Process", "ProcessedAt", "ProductArn",
	"ProductFields", "ProductName", "RecordState", "Region", "RelatedFindings", "Remediation",
	"Resources", "Sample", "SchemaVersion", "Severity", "SourceUrl", "ThreatIntelIndicators",
	"Threats", "Title", "Types", "UpdatedAt", "UserDefinedFields", "VerificationState",
	"Vulnerabilities", "Workflow", "WorkflowState",
};

static const char *const asff_required[] = {
	"AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn",
	"Resources", "SchemaVersion", "Title", "UpdatedAt",
};

static const char *const process_attributes[] = { "Name", "Path", "Pid", "ParentPid",
						  "LaunchedAt", "TerminatedAt" };

static const char *const network_attributes[] = {
	"Direction", "Protocol", "OpenPortRange", "SourceIpV4", "SourceIpV6", "SourcePort",
	"SourceDomain", "SourceMac", "DestinationIpV4", "DestinationIpV6", "DestinationPort",
	"DestinationDomain",
};

static const char *const resource_attributes[] = {
	"Type", "Id", "Partition", "Region", "ResourceRole", "Tags", "DataClassification",
	"Details", "ApplicationName", "ApplicationArn",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

#define IN(s, list) in_list(s, list, sizeof(list) / sizeof(list[0]))

static void only_attributes(json_object *o, const char *what, const char *const *list, size_t n)
{
	assert_true(json_object_is_type(o, json_type_object));
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!in_list(key, list, n))
			fail_msg("%s has \"%s\", which ASFF does not define", what, key);
	}
}

static const char *const ttps_categories[] = {
	"Initial Access", "Execution", "Persistence", "Privilege Escalation", "Defense Evasion",
	"Credential Access", "Discovery", "Lateral Movement", "Collection", "Command and Control",
};
static const char *const effects_categories[] = {
	"Data Exposure", "Data Exfiltration", "Data Destruction", "Denial of Service",
	"Resource Consumption",
};
static const char *const unusual_categories[] = {
	"Application", "Network Flow", "IP address", "User", "VM", "Container", "Serverless",
	"Process", "Database", "Data",
};
static const char *const namespaces[] = {
	"Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors",
	"Sensitive Data Identifications",
};

/* "namespace/category/classifier" from the ASFF Types taxonomy. */
static void check_type(const char *t)
{
	char buf[256], *ns, *cat, *cls, *save = NULL;

	if (strlen(t) >= sizeof(buf) || strstr(t, "//") || t[0] == '/' || t[strlen(t) - 1] == '/')
		fail_msg("type \"%s\" is not namespace/category/classifier", t);
	snprintf(buf, sizeof(buf), "%s", t);
	ns = strtok_r(buf, "/", &save);
	cat = strtok_r(NULL, "/", &save);
	cls = strtok_r(NULL, "", &save);
	if (!ns || !cat || !cls || strchr(cls, '/'))
		fail_msg("type \"%s\" is not namespace/category/classifier", t);
	if (!IN(ns, namespaces))
		fail_msg("type \"%s\": \"%s\" is not an ASFF namespace", t, ns);
	if ((!strcmp(ns, "TTPs") && !IN(cat, ttps_categories)) ||
	    (!strcmp(ns, "Effects") && !IN(cat, effects_categories)) ||
	    (!strcmp(ns, "Unusual Behaviors") && !IN(cat, unusual_categories)))
		fail_msg("type \"%s\": \"%s\" is not a category of %s", t, cat, ns);
}

static void check_types(json_object *root, const char *path, bool want_ttps)
{
	json_object *arr = jarr(root, path);
	size_t n = json_object_array_length(arr);
	bool effects = false, ttps = false;

	assert_true(n >= 1 && n <= 50);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *t;

		if (!json_object_is_type(e, json_type_string))
			fail_msg("%s[%zu] is not a string", path, i);
		t = json_object_get_string(e);
		check_type(t);
		effects = effects || !strncmp(t, "Effects/Resource Consumption/", 29);
		ttps = ttps || !strncmp(t, "TTPs/", 5);
	}
	MW_FAIL_IF(!effects, "no Effects/Resource Consumption/ type");
	MW_FAIL_IF(want_ttps && !ttps, "no TTPs/ type for a finding with a pool connection");
}

/* ISO 8601 in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
static void check_iso8601(json_object *root, const char *path)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	const char *s = jstr(root, path);
	size_t i, n = strlen(s);
	int mon, day, hour, min, sec;

	if (n < sizeof(pat))
		fail_msg("%s \"%s\" is not ISO 8601", path, s);
	for (i = 0; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
			fail_msg("%s \"%s\" is not ISO 8601", path, s);
	}
	if (s[i] == '.') {
		size_t start = ++i;

		while (isdigit((unsigned char)s[i]))
			i++;
		if (i == start || i - start > 9)
			fail_msg("%s \"%s\": bad fraction", path, s);
	}
	if (strcmp(s + i, "Z"))
		fail_msg("%s \"%s\" is not in UTC with Z", path, s);
	sscanf(s + 5, "%2d-%2d", &mon, &day);
	sscanf(s + 11, "%2d:%2d:%2d", &hour, &min, &sec);
	assert_true(mon >= 1 && mon <= 12 && day >= 1 && day <= 31);
	assert_true(hour <= 23 && min <= 59 && sec <= 60);
}

static bool all_digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* The resource of this ASFF Type, checked for its shared attributes; at most one. */
static json_object *asff_resource(json_object *root, const char *type)
{
	json_object *arr = jarr(root, "Resources"), *found = NULL;

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *r = json_object_array_get_idx(arr, i);

		if (!strcmp(jstr(r, "Type"), type)) {
			MW_FAIL_IF(found, "two ASFF resources of one type");
			found = r;
		}
	}
	return found;
}

/* Every rule of the format that the finding can break. */
static void check_asff(json_object *root, const struct finding_in *in, bool want_ttps)
{
	const struct instance_info *inst = in->instance;
	static const char *const labels[] = { "INFORMATIONAL", "LOW", "MEDIUM", "HIGH",
					      "CRITICAL" };
	json_object *res, *pf, *o;
	char want[256];
	size_t n;

	only_attributes(root, "the finding", asff_attributes,
			sizeof(asff_attributes) / sizeof(asff_attributes[0]));
	for (size_t i = 0; i < sizeof(asff_required) / sizeof(asff_required[0]); i++)
		if (!jhas(root, asff_required[i]))
			fail_msg("required attribute %s missing", asff_required[i]);

	expect_str(root, "SchemaVersion", "2018-10-08");
	expect_str(root, "Id", in->uid);
	assert_true(strlen(jstr(root, "Id")) <= 512);
	snprintf(want, sizeof(want), "arn:%s:securityhub:%s:%s:product/%s/default",
		 inst->partition, inst->region, inst->account_id, inst->account_id);
	expect_str(root, "ProductArn", want);
	assert_true(jstr(root, "GeneratorId")[0] && strlen(jstr(root, "GeneratorId")) <= 512);
	MW_FAIL_IF(!all_digits(jstr(root, "AwsAccountId"), 12), "AwsAccountId is not 12 digits");
	expect_str(root, "AwsAccountId", inst->account_id);
	expect_str(root, "Region", inst->region);
	check_types(root, "Types", want_ttps);

	check_iso8601(root, "CreatedAt");
	check_iso8601(root, "UpdatedAt");
	check_iso8601(root, "FirstObservedAt");
	check_iso8601(root, "LastObservedAt");
	expect_str(root, "CreatedAt", T0_ISO);
	expect_str(root, "FirstObservedAt", T0_ISO);
	expect_str(root, "UpdatedAt", T5_ISO);
	expect_str(root, "LastObservedAt", T5_ISO);

	o = jpath(root, "Severity");
	assert_true(json_object_is_type(o, json_type_object));
	MW_FAIL_IF(!IN(jstr(root, "Severity/Label"), labels), "Severity.Label not allowed");
	expect_str(root, "Severity/Label", labels[in->verdict->severity_id < 1 ? 0 :
						  in->verdict->severity_id - 1]);
	jstr(root, "Severity/Original");
	MW_FAIL_IF(!IN(jstr(root, "FindingProviderFields/Severity/Label"), labels),
		   "FindingProviderFields.Severity.Label not allowed");
	check_types(root, "FindingProviderFields/Types", want_ttps);
	assert_true(jint(root, "Confidence") >= 0 && jint(root, "Confidence") <= 100);
	assert_true(jint(root, "FindingProviderFields/Confidence") >= 0 &&
		    jint(root, "FindingProviderFields/Confidence") <= 100);

	n = utf8_chars(jstr(root, "Title"));
	MW_FAIL_IF(n < 1 || n > 256, "Title is not 1..256 characters");
	n = utf8_chars(jstr(root, "Description"));
	MW_FAIL_IF(n < 1 || n > 1024, "Description is not 1..1024 characters");

	pf = jpath(root, "ProductFields");
	assert_true(json_object_is_type(pf, json_type_object));
	MW_FAIL_IF(json_object_object_length(pf) > 50, "more than 50 ProductFields");
	json_object_object_foreach(pf, key, val) {
		if (!json_object_is_type(val, json_type_string))
			fail_msg("ProductFields.%s is not a string", key);
		if (strlen(key) > 128 || utf8_chars(json_object_get_string(val)) > 2048)
			fail_msg("ProductFields.%s is too long", key);
	}

	only_attributes(jpath(root, "Process"), "Process", process_attributes,
			sizeof(process_attributes) / sizeof(process_attributes[0]));
	assert_int_equal(jint(root, "Process/Pid"), in->pid);
	jstr(root, "Process/Name");
	if (jhas(root, "Process/ParentPid"))
		assert_int_equal(jint(root, "Process/ParentPid"), in->ppid);
	if (jhas(root, "Process/LaunchedAt"))
		check_iso8601(root, "Process/LaunchedAt");
	if (jhas(root, "Network")) {
		only_attributes(jpath(root, "Network"), "Network", network_attributes,
				sizeof(network_attributes) / sizeof(network_attributes[0]));
		assert_true(!strcmp(jstr(root, "Network/Direction"), "IN") ||
			    !strcmp(jstr(root, "Network/Direction"), "OUT"));
		assert_true(jint(root, "Network/DestinationPort") >= 0 &&
			    jint(root, "Network/DestinationPort") <= 65535);
	}

	res = jarr(root, "Resources");
	n = json_object_array_length(res);
	MW_FAIL_IF(n < 1 || n > 32, "Resources is not 1..32 objects");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(res, i);

		only_attributes(r, "a resource", resource_attributes,
				sizeof(resource_attributes) / sizeof(resource_attributes[0]));
		assert_true(jstr(r, "Type")[0] && jstr(r, "Id")[0]);
		assert_true(strlen(jstr(r, "Id")) <= 512);
		if (jhas(r, "Partition"))
			expect_str(r, "Partition", inst->partition);
		if (jhas(r, "Region"))
			expect_str(r, "Region", inst->region);
		if (jhas(r, "Details"))
			assert_true(json_object_is_type(jpath(r, "Details"), json_type_object));
	}
	o = asff_resource(root, "AwsEc2Instance");
	MW_FAIL_IF(!o, "no AwsEc2Instance resource");
	snprintf(want, sizeof(want), "arn:%s:ec2:%s:%s:instance/%s", inst->partition, inst->region,
		 inst->account_id, inst->instance_id);
	expect_str(o, "Id", want);
	expect_str(o, "Details/AwsEc2Instance/ImageId", inst->image_id);
	expect_str(o, "Details/AwsEc2Instance/Type", inst->instance_type);

	assert_true(!strcmp(jstr(root, "RecordState"), "ACTIVE") ||
		    !strcmp(jstr(root, "RecordState"), "ARCHIVED"));
	expect_str(root, "Workflow/Status", "NEW");
}

/* --- (a) no instance context ------------------------------------------- */

static void test_ocsf_no_instance(void **state)
{
	static const char *const host[] = { "host" };
	struct fixture *f = *state;
	json_object *root = build_ocsf(f);

	MW_FAIL_IF(jhas(root, "cloud"), "a cloud object without instance context");
	MW_FAIL_IF(jhas(root, "resources"), "resources without instance context");
	MW_FAIL_IF(jhas(root, "device/instance_uid"), "an instance uid without instance context");
	MW_FAIL_IF(jhas(root, "device/region"), "a region without instance context");
	MW_FAIL_IF(jhas(root, "unmapped/cloud"), "unmapped.cloud without instance context");
	expect_profiles(root, host, 1);
	expect_str(root, "unmapped/cloud_context_missing", NO_IMDS);
	expect_str(root, "device/hostname", "ip-10-0-1-23.ec2.internal");
	MW_FAIL_IF(jhas(root, "evidences/0/process/container"), "a container for a host process");
	json_object_put(root);

	/* No reason given: no reason made up. */
	f->in.instance_missing = NULL;
	root = build_ocsf(f);
	MW_FAIL_IF(jhas(root, "unmapped/cloud_context_missing"), "a reason out of nowhere");
	json_object_put(root);
}

static void test_asff_no_instance(void **state)
{
	struct fixture *f = *state;
	bool no_context = false;

	assert_null(finding__build_asff(&f->in, &no_context));
	assert_true(no_context);
	/* Containerised, but still no account or region to file it under. */
	with_container(f);
	with_task(f);
	no_context = false;
	assert_null(finding__build_asff(&f->in, &no_context));
	assert_true(no_context);
}

/* A container without instance context: the container profile, still no cloud. */
static void test_ocsf_container_no_instance(void **state)
{
	static const char *const want[] = { "host", "container" };
	struct fixture *f = *state;
	json_object *root;

	with_container(f);
	f->ctr.orch = ORCH_NONE;
	f->ctr.ecs_task_id[0] = '\0';
	root = build_ocsf(f);
	expect_profiles(root, want, 2);
	MW_FAIL_IF(jhas(root, "cloud") || jhas(root, "resources"), "cloud context made up");
	expect_str(root, "evidences/0/process/container/uid", DOCKER_ID);
	expect_str(root, "evidences/0/process/container/runtime", "docker");
	MW_FAIL_IF(jhas(root, "evidences/0/process/container/orchestrator"),
		   "an orchestrator for a plain Docker container");
	expect_str(root, "unmapped/cloud_context_missing", NO_IMDS);
	json_object_put(root);
}

/* --- (b) instance, not containerised ---------------------------------- */

static void test_ocsf_instance(void **state)
{
	static const char *const want[] = { "host", "cloud" };
	struct fixture *f = *state;
	json_object *root, *r;

	with_instance(f);
	root = build_ocsf(f);
	expect_str(root, "cloud/provider", "AWS");
	expect_str(root, "cloud/region", REGION);
	expect_str(root, "cloud/zone", "us-east-1c");
	expect_str(root, "cloud/account/uid", ACCT);
	expect_str(root, "cloud/cloud_partition", "aws");
	expect_str(root, "device/instance_uid", IID);
	expect_str(root, "device/image/uid", AMI);
	expect_str(root, "device/region", REGION);
	expect_str(root, "device/ip", "10.0.1.23");
	expect_profiles(root, want, 2);
	assert_int_equal(json_object_array_length(jarr(root, "resources")), 1);
	r = ocsf_resource(root, "AWS::EC2::Instance");
	MW_FAIL_IF(!r, "no AWS::EC2::Instance resource");
	expect_str(r, "uid", IID);
	expect_str(r, "region", REGION);
	expect_str(r, "cloud_partition", "aws");
	expect_str(root, "unmapped/cloud/instance_type", "m5.xlarge");
	expect_str(root, "unmapped/cloud/architecture", "x86_64");
	MW_FAIL_IF(jhas(root, "unmapped/cloud_context_missing"), "context both there and missing");
	MW_FAIL_IF(jhas(root, "evidences/0/process/container"), "a container for a host process");
	MW_FAIL_IF(jhas(root, "unmapped/container"), "container context for a host process");
	json_object_put(root);

	/* Instance context wins over a stale reason for its absence. */
	f->in.instance_missing = NO_IMDS;
	root = build_ocsf(f);
	MW_FAIL_IF(jhas(root, "unmapped/cloud_context_missing"), "a stale reason kept");
	json_object_put(root);
}

static void test_asff_instance(void **state)
{
	struct fixture *f = *state;
	json_object *root;

	with_instance(f);
	root = build_asff(f);
	check_asff(root, &f->in, true);
	assert_int_equal(json_object_array_length(jarr(root, "Resources")), 1);
	MW_FAIL_IF(asff_resource(root, "Container") || asff_resource(root, "AwsEcsTask") ||
			   asff_resource(root, "AwsEcsCluster"),
		   "container resources for a host process");
	expect_str(root, "Resources/0/Details/AwsEc2Instance/IpV4Addresses/0", "10.0.1.23");
	expect_str(root, "Process/Name", "xmrig");
	expect_str(root, "Process/Path", "/opt/.cache/xmrig");
	expect_str(root, "Network/DestinationIpV4", "203.0.113.7");
	assert_int_equal(jint(root, "Network/DestinationPort"), 3333);
	expect_pf(root, "minerwatch/Activity", "Create");
	MW_FAIL_IF(pf_find(root, "minerwatch/ContainerId"), "a container id");
	json_object_put(root);
}

/* The partition of the region shows in every ARN and Partition. */
static void test_asff_partitions(void **state)
{
	static const struct {
		const char *account, *region, *zone, *partition;
	} cases[] = {
		{ "210987654321", "cn-north-1", "cn-north-1a", "aws-cn" },
		{ "210987654321", "cn-northwest-1", "cn-northwest-1b", "aws-cn" },
		{ "345678901234", "us-gov-west-1", "us-gov-west-1a", "aws-us-gov" },
		{ "456789012345", "eu-central-1", "eu-central-1a", "aws" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *root;
		char want[256];

		with_instance_in(f, cases[i].account, cases[i].region, cases[i].zone);
		assert_string_equal(f->inst.partition, cases[i].partition);
		root = build_asff(f);
		check_asff(root, &f->in, true);
		snprintf(want, sizeof(want), "arn:%s:securityhub:%s:%s:product/%s/default",
			 cases[i].partition, cases[i].region, cases[i].account, cases[i].account);
		expect_str(root, "ProductArn", want);
		snprintf(want, sizeof(want), "arn:%s:ec2:%s:%s:instance/" IID, cases[i].partition,
			 cases[i].region, cases[i].account);
		expect_str(root, "Resources/0/Id", want);
		expect_str(root, "Resources/0/Partition", cases[i].partition);
		json_object_put(root);

		root = build_ocsf(f);
		expect_str(root, "cloud/cloud_partition", cases[i].partition);
		expect_str(root, "cloud/account/uid", cases[i].account);
		json_object_put(root);
	}
}

/* Create, Update, Close: each a valid ASFF finding; Close ends the process. */
static void test_asff_activities(void **state)
{
	static const struct {
		enum finding_activity a;
		const char *name;
	} acts[] = { { FINDING_CREATE, "Create" }, { FINDING_UPDATE, "Update" },
		     { FINDING_CLOSE, "Close" } };
	struct fixture *f = *state;

	with_instance(f);
	for (size_t i = 0; i < 3; i++) {
		json_object *root;

		f->in.activity = acts[i].a;
		root = build_asff(f);
		check_asff(root, &f->in, true);
		expect_pf(root, "minerwatch/Activity", acts[i].name);
		expect_str(root, "Id", f->uid);
		if (acts[i].a == FINDING_CLOSE)
			expect_str(root, "Process/TerminatedAt", T5_ISO);
		else
			MW_FAIL_IF(jhas(root, "Process/TerminatedAt"), "a running process ended");
		json_object_put(root);
	}
}

/*
 * The Close written at restart for a process that ended while no sensor ran
 * is the last record written, closed: exactly what the sensor would have
 * built had it seen the exit at that moment, in either format.
 */
static void expect_closed_equals_built_close(struct fixture *f, bool asff)
{
	bool no_context = false;
	char *last, *closed, *direct;
	json_object *a, *b;

	f->in.activity = FINDING_UPDATE;
	last = asff ? finding__build_asff(&f->in, &no_context) : finding__build(&f->in);
	assert_non_null(last);
	f->in.activity = FINDING_CLOSE;
	f->in.time_ms = T0 + 60000;
	direct = asff ? finding__build_asff(&f->in, &no_context) : finding__build(&f->in);
	assert_non_null(direct);
	closed = finding__closed(last, T0 + 60000);
	assert_non_null(closed);
	a = check_line(closed);
	b = check_line(direct);
	if (!json_object_equal(a, b))
		fail_msg("closed from the last record:\n%s\nbuilt as a Close:\n%s", closed, direct);
	json_object_put(a);
	json_object_put(b);
	free(last);
	free(closed);
	free(direct);
}

static void test_closed_from_last_record(void **state)
{
	struct fixture *f = *state;

	with_instance(f);
	expect_closed_equals_built_close(f, false);
	f->in.time_ms = T0 + 5000;
	expect_closed_equals_built_close(f, true);
	/* Not a finding: no Close is made up. */
	assert_null(finding__closed("not json", T0));
	assert_null(finding__closed("[1,2]", T0));
	assert_null(finding__closed("{\"class_uid\":6008,\"activity_id\":1}", T0));
}

/* No pool connection and no peers: no Network and no TTPs type, still valid. */
static void test_asff_no_connection(void **state)
{
	struct fixture *f = *state;
	json_object *root, *types;

	with_instance(f);
	f->s.has_conn = false;
	f->in.npeers = 0;
	root = build_asff(f);
	check_asff(root, &f->in, false);
	MW_FAIL_IF(jhas(root, "Network"), "a Network object without a peer");
	types = jarr(root, "Types");
	for (size_t i = 0; i < json_object_array_length(types); i++)
		MW_FAIL_IF(!strncmp(json_object_get_string(json_object_array_get_idx(types, i)),
				    "TTPs/Command and Control/", 25),
			   "a pool connection type without a connection");
	json_object_put(root);
}

/* --- (c) instance, container, ECS task and cluster --------------------- */

static void test_ocsf_ecs(void **state)
{
	static const char *const want[] = { "host", "cloud", "container" };
	struct fixture *f = *state;
	json_object *root, *r;

	with_instance(f);
	with_container(f);
	with_task(f);
	root = build_ocsf(f);
	expect_profiles(root, want, 3);
	expect_str(root, "evidences/0/process/container/uid", DOCKER_ID);
	expect_str(root, "evidences/0/process/container/name", "worker");
	expect_str(root, "evidences/0/process/container/runtime", "docker");
	expect_str(root, "evidences/0/process/container/orchestrator", "ECS");
	assert_int_equal(jint(root, "evidences/0/process/namespace_pid"), 7);
	expect_str(root, "evidences/0/process/container/image/uid", IMAGE_ID);
	expect_str(root, "evidences/0/process/container/image/name", IMAGE);
	expect_str(root, "evidences/0/process/container/image/tag", "2.4.1");
	assert_int_equal(json_object_array_length(jarr(root, "resources")), 3);
	r = ocsf_resource(root, "AWS::EC2::Instance");
	MW_FAIL_IF(!r, "no instance resource");
	expect_str(r, "uid", IID);
	r = ocsf_resource(root, "AWS::ECS::Task");
	MW_FAIL_IF(!r, "no task resource");
	expect_str(r, "uid", TASK_ARN);
	expect_str(r, "name", "batch_jobs:4");
	expect_str(r, "region", REGION);
	r = ocsf_resource(root, "AWS::ECS::Cluster");
	MW_FAIL_IF(!r, "no cluster resource");
	expect_str(r, "uid", CLUSTER_ARN);
	expect_str(r, "name", "mycluster");
	expect_str(root, "cloud/account/uid", ACCT);
	expect_str(root, "unmapped/container/ecs_task_id_from_cgroup", TASK_ID);
	expect_str(root, "unmapped/container/docker_name",
		   "ecs-batch_jobs-4-worker-a2c4e6f8b0d2e4f6a801");
	expect_str(root, "unmapped/container/task_status", "RUNNING");
	expect_str(root, "unmapped/container/task_family", "batch_jobs");
	expect_str(root, "unmapped/container/task_revision", "4");
	expect_str(root, "unmapped/container/container_instance_arn", CI_ARN);
	MW_FAIL_IF(jhas(root, "unmapped/container/ecs_context_missing"), "task found and missing");
	json_object_put(root);

	/* The cluster known only by name: its uid is the name. */
	f->ecs.cluster_arn[0] = '\0';
	root = build_ocsf(f);
	r = ocsf_resource(root, "AWS::ECS::Cluster");
	MW_FAIL_IF(!r, "no cluster resource");
	expect_str(r, "uid", "mycluster");
	json_object_put(root);
}

static void test_asff_ecs(void **state)
{
	struct fixture *f = *state;
	json_object *root, *r;

	with_instance(f);
	with_container(f);
	with_task(f);
	root = build_asff(f);
	check_asff(root, &f->in, true);
	assert_int_equal(json_object_array_length(jarr(root, "Resources")), 4);
	r = asff_resource(root, "Container");
	MW_FAIL_IF(!r, "no Container resource");
	expect_str(r, "Id", DOCKER_ID);
	expect_str(r, "Details/Container/Name", "worker");
	expect_str(r, "Details/Container/ContainerRuntime", "docker");
	expect_str(r, "Details/Container/ImageId", IMAGE_ID);
	expect_str(r, "Details/Container/ImageName", IMAGE);
	r = asff_resource(root, "AwsEcsTask");
	MW_FAIL_IF(!r, "no AwsEcsTask resource");
	expect_str(r, "Id", TASK_ARN);
	expect_str(r, "Details/AwsEcsTask/ClusterArn", CLUSTER_ARN);
	expect_str(r, "Details/AwsEcsTask/TaskDefinitionArn",
		   "arn:aws:ecs:" REGION ":" ACCT ":task-definition/batch_jobs:4");
	r = asff_resource(root, "AwsEcsCluster");
	MW_FAIL_IF(!r, "no AwsEcsCluster resource");
	expect_str(r, "Id", CLUSTER_ARN);
	expect_str(r, "Details/AwsEcsCluster/ClusterName", "mycluster");
	expect_pf(root, "minerwatch/ContainerId", DOCKER_ID);
	expect_pf(root, "minerwatch/ContainerRuntime", "docker");
	expect_pf(root, "minerwatch/EcsTaskArn", TASK_ARN);
	MW_FAIL_IF(pf_find(root, "minerwatch/EcsContextMissing"),
		   "task found and missing");
	json_object_put(root);

	/* No cluster ARN: no cluster resource (its Id would not be an ARN). */
	f->ecs.cluster_arn[0] = '\0';
	root = build_asff(f);
	check_asff(root, &f->in, true);
	MW_FAIL_IF(asff_resource(root, "AwsEcsCluster"), "a cluster resource without its ARN");
	MW_FAIL_IF(jhas(root, "Resources/1/Details/AwsEcsTask/ClusterArn") ||
			   jhas(root, "Resources/2/Details/AwsEcsTask/ClusterArn"),
		   "a ClusterArn out of nowhere");
	json_object_put(root);

	/* In aws-cn the ARNs follow the partition. */
	with_instance_in(f, "210987654321", "cn-north-1", "cn-north-1a");
	root = build_asff(f);
	check_asff(root, &f->in, true);
	expect_str(root, "ProductArn",
		   "arn:aws-cn:securityhub:cn-north-1:210987654321:product/210987654321/default");
	r = asff_resource(root, "AwsEcsTask");
	MW_FAIL_IF(!r, "no AwsEcsTask resource");
	expect_str(r, "Partition", "aws-cn");
	expect_str(r, "Details/AwsEcsTask/TaskDefinitionArn",
		   "arn:aws-cn:ecs:cn-north-1:210987654321:task-definition/batch_jobs:4");
	json_object_put(root);
}

/* The image's tag: never a registry port, never part of a digest. */
static void test_ocsf_image_tag(void **state)
{
	static const struct {
		const char *image, *tag;
	} cases[] = {
		{ "nginx:1.25", "1.25" },
		{ "nginx", NULL },
		{ "nginx:", NULL },
		{ "library/nginx:latest", "latest" },
		{ "registry.example.com:5000/envoy", NULL },
		{ "registry.example.com:5000/team/envoy:v1.29.1", "v1.29.1" },
		{ "public.ecr.aws/docker/library/python@" IMAGE_ID, NULL },
		{ "python:3.12-slim@" IMAGE_ID, "3.12-slim" },
		{ "registry.example.com:5000/envoy@" IMAGE_ID, NULL },
		{ ACCT ".dkr.ecr." REGION ".amazonaws.com/batch/worker:2.4.1", "2.4.1" },
	};
	struct fixture *f = *state;

	with_instance(f);
	with_container(f);
	with_task(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *root;

		snprintf(f->task.image, sizeof(f->task.image), "%s", cases[i].image);
		root = build_ocsf(f);
		expect_str(root, "evidences/0/process/container/image/uid", IMAGE_ID);
		expect_str(root, "evidences/0/process/container/image/name", cases[i].image);
		if (cases[i].tag)
			expect_str(root, "evidences/0/process/container/image/tag", cases[i].tag);
		else if (jhas(root, "evidences/0/process/container/image/tag"))
			fail_msg("image \"%s\" given the tag \"%s\"", cases[i].image,
				 jstr(root, "evidences/0/process/container/image/tag"));
		json_object_put(root);
	}
	/* No digest from the agent: no image object (OCSF needs its uid). */
	f->task.image_id[0] = '\0';
	{
		json_object *root = build_ocsf(f);

		MW_FAIL_IF(jhas(root, "evidences/0/process/container/image"),
			   "an image object without a uid");
		json_object_put(root);
	}
}

/* --- (d) a container whose task is not known ----------------------------- */

static void test_ocsf_task_missing(void **state)
{
	static const char *const want[] = { "host", "cloud", "container" };
	struct fixture *f = *state;
	json_object *root;

	with_instance(f);
	with_container(f);
	with_task(f);
	f->in.task = NULL;       /* the agent answered the metadata, not the task */
	f->in.task_missing = NO_TASK;
	root = build_ocsf(f);
	expect_profiles(root, want, 3);
	expect_str(root, "unmapped/container/ecs_context_missing", NO_TASK);
	expect_str(root, "unmapped/container/ecs_task_id_from_cgroup", TASK_ID);
	MW_FAIL_IF(ocsf_resource(root, "AWS::ECS::Task"), "a task resource for a missing task");
	MW_FAIL_IF(ocsf_resource(root, "AWS::ECS::Cluster"), "a cluster resource without a task");
	MW_FAIL_IF(!ocsf_resource(root, "AWS::EC2::Instance"), "the instance resource lost");
	assert_int_equal(json_object_array_length(jarr(root, "resources")), 1);
	expect_str(root, "evidences/0/process/container/uid", DOCKER_ID);
	expect_str(root, "evidences/0/process/container/orchestrator", "ECS");
	MW_FAIL_IF(jhas(root, "evidences/0/process/container/name"), "a name without the task");
	MW_FAIL_IF(jhas(root, "evidences/0/process/container/image"), "an image without the task");
	MW_FAIL_IF(jhas(root, "unmapped/container/task_family"), "task fields without a task");
	json_object_put(root);

	/* Nor with no agent at all. */
	f->in.ecs = NULL;
	root = build_ocsf(f);
	expect_str(root, "unmapped/container/ecs_context_missing", NO_TASK);
	MW_FAIL_IF(ocsf_resource(root, "AWS::ECS::Task"), "a task resource for a missing task");
	json_object_put(root);
}

static void test_asff_task_missing(void **state)
{
	struct fixture *f = *state;
	json_object *root, *r;

	with_instance(f);
	with_container(f);
	f->in.task_missing = NO_TASK;
	root = build_asff(f);
	check_asff(root, &f->in, true);
	MW_FAIL_IF(asff_resource(root, "AwsEcsTask"), "a task resource for a missing task");
	MW_FAIL_IF(asff_resource(root, "AwsEcsCluster"), "a cluster resource without a task");
	r = asff_resource(root, "Container");
	MW_FAIL_IF(!r, "no Container resource");
	expect_str(r, "Id", DOCKER_ID);
	MW_FAIL_IF(jhas(r, "Details/Container/Name"), "a container name without the task");
	MW_FAIL_IF(jhas(r, "Details/Container/ImageId") || jhas(r, "Details/Container/ImageName"),
		   "a container image without the task");
	expect_pf(root, "minerwatch/EcsContextMissing", NO_TASK);
	MW_FAIL_IF(pf_find(root, "minerwatch/EcsTaskArn"), "a task ARN out of nowhere");
	assert_int_equal(json_object_array_length(jarr(root, "Resources")), 2);
	json_object_put(root);
}

/* --- bounds and hostile input ------------------------------------------ */

/* Fills buf (size bytes, terminated) with as many whole copies of piece as fit. */
static void fill(char *buf, size_t size, const char *piece)
{
	size_t p = strlen(piece), o = 0;

	while (o + p < size) {
		memcpy(buf + o, piece, p);
		o += p;
	}
	buf[o] = '\0';
}

static void test_asff_long_text(void **state)
{
	/* ASCII, then 2-, 3- and 4-byte characters, then a mix, then hostile bytes. */
	static const char *const pieces[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					      "a\xe2\x82\xac\xc3\xa9\xf0\x9f\x98\x80",
					      "\xe2\x82\xac\x1b[2J\n\xff" };
	struct fixture *f = *state;

	with_instance(f);
	with_container(f);
	with_task(f);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		bool plain = i + 1 < sizeof(pieces) / sizeof(pieces[0]);
		const char *desc, *title;
		json_object *root;
		size_t n;

		fill(f->v.why, sizeof(f->v.why), pieces[i]);
		fill(f->v.title, sizeof(f->v.title), pieces[i]);
		assert_true(strlen(f->v.why) >= sizeof(f->v.why) - 10);
		root = build_asff(f);
		check_asff(root, &f->in, true);
		desc = jstr(root, "Description");
		title = jstr(root, "Title");
		MW_FAIL_IF(!valid_utf8(desc) || !valid_utf8(title), "text cut inside a character");
		n = utf8_chars(desc);
		MW_FAIL_IF(n > 1024, "Description over 1024 characters");
		MW_FAIL_IF(utf8_chars(title) > 256, "Title over 256 characters");
		/* Cut, but not to nothing: most of the room is used. */
		MW_FAIL_IF(strlen(desc) < 900, "Description cut far shorter than it must be");
		if (plain) {
			size_t keep = strlen(desc);

			/* What is kept is the start of the explanation, marked as cut. */
			assert_true(keep > 3 && !strcmp(desc + keep - 3, "..."));
			assert_memory_equal(desc, f->v.why, keep - 3);
			assert_string_equal(title, f->v.title);
		} else {
			MW_FAIL_IF(strchr(desc, '\x1b') || strchr(desc, '\n'),
				   "a control character in Description");
		}
		json_object_put(root);

		/* OCSF keeps the whole explanation (its bound is wider). */
		root = build_ocsf(f);
		if (plain)
			expect_str(root, "finding_info/desc", f->v.why);
		json_object_put(root);
	}
}

static void set_hostile(struct fixture *f)
{
	static const char head[] = "xmrig\0--url\0\x1b]0;evil\x07\0\xff\xfe\0\n\r\0\xc3\x28";
	const size_t len = 64 * 1024;
	uint32_t x = 0x2545f491;

	f->in.comm = "a\nb\x1b[31m\xff\xfe";
	f->in.exe = "/tmp/\x1b]0;x\x07/mi\xc3\x28ner\n";
	f->in.user_name = "\xc2\x9b" "31mroot";
	f->in.parent_comm = "\x7f\x01";
	f->in.hostname = "host\r\nX-Injected: 1";
	f->in.kernel_release = "6.1\xed\xa0\x80";
	snprintf(f->s.name, sizeof(f->s.name), "%s", f->in.comm);
	correlator__judge(&cfg, &f->s, &f->v);
	f->cmdline = malloc(len);
	assert_non_null(f->cmdline);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		f->cmdline[i] = (char)x;
	}
	memcpy(f->cmdline, head, sizeof(head) - 1);
	f->in.cmdline = f->cmdline;
	f->in.cmdline_len = len;
}

static void no_raw_controls(json_object *root, const char *path)
{
	const char *s = jstr(root, path);

	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fail_msg("%s carries the control byte 0x%02x", path, (unsigned char)*s);
}

static void test_hostile_process(void **state)
{
	struct fixture *f = *state;
	json_object *root;
	char *line;
	bool no_context;

	with_instance(f);
	with_container(f);
	with_task(f);
	set_hostile(f);

	line = finding__build(&f->in);
	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
	root = check_line(line);
	free(line);
	expect_str(root, "evidences/0/process/name", "a\\x0ab\\x1b[31m\\xff\\xfe");
	no_raw_controls(root, "evidences/0/process/file/path");
	no_raw_controls(root, "evidences/0/process/cmd_line");
	no_raw_controls(root, "device/hostname");
	no_raw_controls(root, "finding_info/title");
	no_raw_controls(root, "finding_info/desc");
	expect_str(root, "evidences/0/process/container/uid", DOCKER_ID);
	json_object_put(root);

	line = finding__build_asff(&f->in, &no_context);
	assert_non_null(line);
	assert_false(no_context);
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
	root = check_line(line);
	free(line);
	check_asff(root, &f->in, true);
	expect_str(root, "Process/Name", "a\\x0ab\\x1b[31m\\xff\\xfe");
	expect_str(root, "Process/Path", "/tmp/\\x1b]0;x\\x07/mi\\xc3(ner\\x0a");
	no_raw_controls(root, "Title");
	no_raw_controls(root, "Description");
	{
		json_object *h = pf_find(root, "minerwatch/Hostname");
		const char *v;

		assert_non_null(h);
		v = json_object_get_string(h);
		MW_FAIL_IF(strchr(v, '\r') || strchr(v, '\n'), "a raw CR or LF in ProductFields");
	}
	json_object_put(root);
}

/* A hostile path as long as the kernel allows: still bounded in both formats. */
static void test_hostile_long_path(void **state)
{
	struct fixture *f = *state;
	json_object *root;
	char *exe = malloc(4096);

	assert_non_null(exe);
	with_instance(f);
	fill(exe, 4096, "/\x1b\xff");
	f->in.exe = exe;
	root = build_asff(f);
	check_asff(root, &f->in, true);
	assert_true(strlen(jstr(root, "Process/Path")) < 512);
	json_object_put(root);
	root = build_ocsf(f);
	assert_true(strlen(jstr(root, "evidences/0/process/file/path")) < 2048);
	json_object_put(root);
	free(exe);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ocsf_no_instance),
		T(test_asff_no_instance),
		T(test_ocsf_container_no_instance),
		T(test_ocsf_instance),
		T(test_asff_instance),
		T(test_asff_partitions),
		T(test_asff_activities),
		T(test_closed_from_last_record),
		T(test_asff_no_connection),
		T(test_ocsf_ecs),
		T(test_asff_ecs),
		T(test_ocsf_image_tag),
		T(test_ocsf_task_missing),
		T(test_asff_task_missing),
		T(test_asff_long_text),
		T(test_hostile_process),
		T(test_hostile_long_path),
	};
#undef T

	return cmocka_run_group_tests_name("context_finding", tests, NULL, NULL);
}
