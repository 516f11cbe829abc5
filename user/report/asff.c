// SPDX-License-Identifier: Apache-2.0
/*
 * AWS Security Finding Format (SchemaVersion 2018-10-08), one object per line,
 * ready for BatchImportFindings. The finding Id is the minerwatch uid, so the
 * Create, Update and Close of one process update one Security Hub finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "finding.h"
#include "jsonout.h"
#include "text.h"

#define ASFF_TITLE_MAX 256
#define ASFF_DESC_MAX 1024
#define ASFF_FIELD_MAX 2048
#define ASFF_PATH_MAX 512

/* ISO 8601 in UTC with milliseconds, as ASFF timestamps are written. */
static json_object *iso8601(uint64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	char buf[40];

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(unix_ms % 1000));
	return json_object_new_string(buf);
}

static const char *severity_label(int severity_id)
{
	switch (severity_id) {
	case 5: return "CRITICAL";
	case 4: return "HIGH";
	case 3: return "MEDIUM";
	case 2: return "LOW";
	default: return "INFORMATIONAL";
	}
}

static const char *activity_name(enum finding_activity a)
{
	return a == FINDING_CREATE ? "Create" : a == FINDING_UPDATE ? "Update" : "Close";
}

static json_object *types(const struct finding_in *in)
{
	json_object *t = json_object_new_array();

	json_object_array_add(t, json_object_new_string(
					 "Effects/Resource Consumption/Cryptocurrency Mining"));
	json_object_array_add(t, json_object_new_string("TTPs/Execution/Cryptocurrency Miner"));
	if (in->npeers || in->signals->has_conn)
		json_object_array_add(t, json_object_new_string(
						 "TTPs/Command and Control/Mining Pool Connection"));
	return t;
}

static json_object *ec2_resource(const struct finding_in *in)
{
	const struct instance_info *inst = in->instance;
	json_object *r = json_object_new_object(), *d = json_object_new_object();
	json_object *ec2 = json_object_new_object();
	char arn[160];

	snprintf(arn, sizeof(arn), "arn:%s:ec2:%s:%s:instance/%s", inst->partition, inst->region,
		 inst->account_id, inst->instance_id);
	jout_add(r, "Type", json_object_new_string("AwsEc2Instance"));
	jout_add(r, "Id", json_object_new_string(arn));
	jout_add(r, "Partition", json_object_new_string(inst->partition));
	jout_add(r, "Region", json_object_new_string(inst->region));
	if (inst->instance_type[0])
		jout_add(ec2, "Type", json_object_new_string(inst->instance_type));
	if (inst->image_id[0])
		jout_add(ec2, "ImageId", json_object_new_string(inst->image_id));
	if (inst->local_ipv4[0] || inst->private_ip[0]) {
		json_object *ips = json_object_new_array();

		json_object_array_add(ips, json_object_new_string(inst->local_ipv4[0] ?
								  inst->local_ipv4 :
								  inst->private_ip));
		jout_add(ec2, "IpV4Addresses", ips);
	}
	jout_add(d, "AwsEc2Instance", ec2);
	jout_add(r, "Details", d);
	return r;
}

static json_object *task_resource(const struct finding_in *in)
{
	const struct instance_info *inst = in->instance;
	const struct ecs_task_info *t = in->task;
	json_object *r = json_object_new_object(), *d = json_object_new_object();
	json_object *task = json_object_new_object();
	char arn[ECS_ARN_LEN + 300];

	jout_add(r, "Type", json_object_new_string("AwsEcsTask"));
	jout_add(r, "Id", json_object_new_string(t->task_arn));
	jout_add(r, "Partition", json_object_new_string(inst->partition));
	jout_add(r, "Region", json_object_new_string(inst->region));
	if (in->ecs && in->ecs->cluster_arn[0])
		jout_add(task, "ClusterArn", json_object_new_string(in->ecs->cluster_arn));
	if (t->family[0] && t->revision[0]) {
		snprintf(arn, sizeof(arn), "arn:%s:ecs:%s:%s:task-definition/%s:%s", inst->partition,
			 inst->region, inst->account_id, t->family, t->revision);
		jout_add(task, "TaskDefinitionArn", json_object_new_string(arn));
	}
	jout_add(d, "AwsEcsTask", task);
	jout_add(r, "Details", d);
	return r;
}

static json_object *cluster_resource(const struct finding_in *in)
{
	const struct instance_info *inst = in->instance;
	json_object *r = json_object_new_object(), *d = json_object_new_object();
	json_object *c = json_object_new_object();

	jout_add(r, "Type", json_object_new_string("AwsEcsCluster"));
	jout_add(r, "Id", json_object_new_string(in->ecs->cluster_arn));
	jout_add(r, "Partition", json_object_new_string(inst->partition));
	jout_add(r, "Region", json_object_new_string(inst->region));
	jout_add(c, "ClusterName", json_object_new_string(in->ecs->cluster));
	jout_add(d, "AwsEcsCluster", c);
	jout_add(r, "Details", d);
	return r;
}

static json_object *container_resource(const struct finding_in *in)
{
	const struct instance_info *inst = in->instance;
	json_object *r = json_object_new_object(), *d = json_object_new_object();
	json_object *c = json_object_new_object();

	jout_add(r, "Type", json_object_new_string("Container"));
	jout_add(r, "Id", json_object_new_string(in->container->id));
	jout_add(r, "Partition", json_object_new_string(inst->partition));
	jout_add(r, "Region", json_object_new_string(inst->region));
	jout_add(c, "ContainerRuntime", json_object_new_string(in->container->runtime));
	if (in->task && in->task->container_name[0])
		jout_add(c, "Name", json_object_new_string(in->task->container_name));
	if (in->task && in->task->image_id[0])
		jout_add(c, "ImageId", json_object_new_string(in->task->image_id));
	if (in->task && in->task->image[0])
		jout_add(c, "ImageName", json_object_new_string(in->task->image));
	jout_add(d, "Container", c);
	jout_add(r, "Details", d);
	return r;
}

static json_object *process(const struct finding_in *in)
{
	json_object *p = json_object_new_object();

	jout_add(p, "Name", jout_cstr(in->comm, 128));
	if (in->exe && in->exe[0])
		jout_add(p, "Path", jout_cstr(in->exe, ASFF_PATH_MAX));
	jout_int(p, "Pid", in->pid);
	if (in->ppid)
		jout_int(p, "ParentPid", in->ppid);
	if (in->created_ms)
		jout_add(p, "LaunchedAt", iso8601(in->created_ms));
	if (in->activity == FINDING_CLOSE)
		jout_add(p, "TerminatedAt", iso8601(in->time_ms));
	return p;
}

static json_object *network(const struct finding_in *in)
{
	const struct finding_peer *peer = &in->peers[0];
	json_object *n = json_object_new_object();

	jout_add(n, "Direction", json_object_new_string("OUT"));
	jout_add(n, "Protocol", json_object_new_string("TCP"));
	jout_add(n, strchr(peer->ip, ':') ? "DestinationIpV6" : "DestinationIpV4",
		 json_object_new_string(peer->ip));
	jout_int(n, "DestinationPort", peer->port);
	return n;
}

static void field(json_object *pf, const char *key, const char *value)
{
	if (value && value[0])
		jout_add(pf, key, jout_cstr(value, ASFF_FIELD_MAX));
}

static json_object *product_fields(const struct finding_in *in)
{
	const struct verdict *v = in->verdict;
	json_object *pf = json_object_new_object();
	char buf[512];
	size_t off = 0;

	field(pf, "minerwatch/Activity", activity_name(in->activity));
	snprintf(buf, sizeof(buf), "%d", v->score);
	field(pf, "minerwatch/Score", buf);
	for (int i = 0; i < v->nparts && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
					v->parts[i].signal);
	buf[off < sizeof(buf) ? off : sizeof(buf) - 1] = '\0';
	field(pf, "minerwatch/Signals", buf);
	snprintf(buf, sizeof(buf), "%.2f", in->signals->cpu_cores);
	field(pf, "minerwatch/CpuCores", buf);
	if (in->signals->proto.kind != PROTO_NONE)
		field(pf, "minerwatch/Protocol", proto__name(in->signals->proto.kind));
	if (in->signals->has_conn)
		field(pf, "minerwatch/PoolEndpoint", in->signals->conn_peer);
	if (in->sha256)
		field(pf, "minerwatch/ExecutableSha256", in->sha256);
	field(pf, "minerwatch/Hostname", in->hostname);
	field(pf, "minerwatch/BootId", in->boot_id);
	if (in->container) {
		field(pf, "minerwatch/ContainerId", in->container->id);
		field(pf, "minerwatch/ContainerRuntime", in->container->runtime);
	}
	if (in->task)
		field(pf, "minerwatch/EcsTaskArn", in->task->task_arn);
	else if (in->container && in->task_missing)
		field(pf, "minerwatch/EcsContextMissing", in->task_missing);
	return pf;
}

char *finding__build_asff(const struct finding_in *in, bool *no_context)
{
	const struct instance_info *inst = in->instance;
	const struct verdict *v = in->verdict;
	json_object *root, *sev, *res, *fpf, *wf;
	char buf[ASFF_DESC_MAX + 1];

	*no_context = !inst;
	if (!inst)
		return NULL;
	root = json_object_new_object();
	if (!root)
		return NULL;
	jout_add(root, "SchemaVersion", json_object_new_string("2018-10-08"));
	jout_add(root, "Id", json_object_new_string(in->uid));
	snprintf(buf, sizeof(buf), "arn:%s:securityhub:%s:%s:product/%s/default", inst->partition,
		 inst->region, inst->account_id, inst->account_id);
	jout_add(root, "ProductArn", json_object_new_string(buf));
	jout_add(root, "ProductName", json_object_new_string("minerwatch"));
	jout_add(root, "CompanyName", json_object_new_string("minerwatch"));
	jout_add(root, "GeneratorId", json_object_new_string("minerwatch/cryptominer-detector"));
	jout_add(root, "AwsAccountId", json_object_new_string(inst->account_id));
	jout_add(root, "Region", json_object_new_string(inst->region));
	jout_add(root, "Types", types(in));
	jout_add(root, "FirstObservedAt", iso8601(in->first_seen_ms));
	jout_add(root, "LastObservedAt", iso8601(in->last_seen_ms));
	jout_add(root, "CreatedAt", iso8601(in->first_seen_ms));
	jout_add(root, "UpdatedAt", iso8601(in->time_ms));
	sev = json_object_new_object();
	jout_add(sev, "Label", json_object_new_string(severity_label(v->severity_id)));
	snprintf(buf, sizeof(buf), "%d", v->severity_id);
	jout_add(sev, "Original", json_object_new_string(buf));
	jout_add(root, "Severity", sev);
	fpf = json_object_new_object();
	jout_add(fpf, "Severity", json_object_get(sev));
	jout_add(fpf, "Types", types(in));
	jout_int(fpf, "Confidence", v->confidence);
	jout_add(root, "FindingProviderFields", fpf);
	jout_int(root, "Confidence", v->confidence);
	jout_add(root, "Title", jout_cstr(v->title, ASFF_TITLE_MAX));
	jout_add(root, "Description", jout_cstr(v->why, ASFF_DESC_MAX));
	jout_add(root, "ProductFields", product_fields(in));
	jout_add(root, "Process", process(in));
	if (in->npeers)
		jout_add(root, "Network", network(in));
	res = json_object_new_array();
	json_object_array_add(res, ec2_resource(in));
	if (in->container)
		json_object_array_add(res, container_resource(in));
	if (in->task)
		json_object_array_add(res, task_resource(in));
	if (in->task && in->ecs && in->ecs->cluster_arn[0])
		json_object_array_add(res, cluster_resource(in));
	jout_add(root, "Resources", res);
	jout_add(root, "RecordState", json_object_new_string("ACTIVE"));
	wf = json_object_new_object();
	jout_add(wf, "Status", json_object_new_string("NEW"));
	jout_add(root, "Workflow", wf);
	return jout_line(root);
}

bool finding__asff_close(json_object *root, uint64_t now_ms)
{
	json_object *pf, *proc, *v;

	if (!json_object_object_get_ex(root, "SchemaVersion", &v))
		return false;
	jout_add(root, "UpdatedAt", iso8601(now_ms));
	if (json_object_object_get_ex(root, "ProductFields", &pf) &&
	    json_object_is_type(pf, json_type_object))
		jout_add(pf, "minerwatch/Activity",
			 json_object_new_string(activity_name(FINDING_CLOSE)));
	if (json_object_object_get_ex(root, "Process", &proc) &&
	    json_object_is_type(proc, json_type_object))
		jout_add(proc, "TerminatedAt", iso8601(now_ms));
	return true;
}
