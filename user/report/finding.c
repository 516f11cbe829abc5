// SPDX-License-Identifier: Apache-2.0
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <nettle/sha2.h>

#include "finding.h"
#include "jsonout.h"

#define OCSF_VERSION "1.8.0"
#define CLASS_DETECTION_FINDING 2004
#define CATEGORY_FINDINGS 2

/* Bounds on attacker-controlled text, before escaping. */
#define NAME_MAX_OUT 256
#define PATH_MAX_OUT 2048
#define CMDLINE_MAX_OUT 8192

static json_object *attacks(void)
{
	json_object *arr = json_object_new_array(), *a = json_object_new_object();
	json_object *tech = json_object_new_object(), *tac = json_object_new_object();

	jout_add(tech, "uid", json_object_new_string("T1496"));
	jout_add(tech, "name", json_object_new_string("Resource Hijacking"));
	jout_add(tac, "uid", json_object_new_string("TA0040"));
	jout_add(tac, "name", json_object_new_string("Impact"));
	jout_add(a, "technique", tech);
	jout_add(a, "tactic", tac);
	json_object_array_add(arr, a);
	return arr;
}

static const char *orchestrator(const struct container_ref *c)
{
	return c->orch == ORCH_ECS ? "ECS" : c->orch == ORCH_KUBERNETES ? "Kubernetes" : NULL;
}

/*
 * The tag of an image reference "[registry[:port]/]path[:tag][@digest]": after
 * the last ':' of the last path component, before any "@digest". A
 * registry's port and the digest's "sha256:" are not tags.
 */
static bool image_tag(const char *image, char *out, size_t outsz)
{
	size_t n = strcspn(image, "@");
	const char *last = image, *colon;

	for (size_t i = 0; i < n; i++)
		if (image[i] == '/')
			last = image + i + 1;
	colon = memchr(last, ':', n - (size_t)(last - image));
	if (!colon || colon + 1 == image + n)
		return false;
	snprintf(out, outsz, "%.*s", (int)(image + n - colon - 1), colon + 1);
	return true;
}

/* process.container: what the cgroup path and the ECS agent say, nothing guessed. */
static json_object *container_obj(const struct finding_in *in)
{
	const struct container_ref *c = in->container;
	json_object *o = json_object_new_object();

	jout_add(o, "uid", json_object_new_string(c->id));
	if (in->task && in->task->container_name[0])
		jout_add(o, "name", json_object_new_string(in->task->container_name));
	jout_add(o, "runtime", json_object_new_string(c->runtime));
	if (in->task && in->task->image_id[0]) {
		/* OCSF's image needs a uid: the image digest the agent reports. */
		json_object *img = json_object_new_object();
		char tag[sizeof(in->task->image)];

		jout_add(img, "uid", json_object_new_string(in->task->image_id));
		if (in->task->image[0])
			jout_add(img, "name", json_object_new_string(in->task->image));
		if (image_tag(in->task->image, tag, sizeof(tag)))
			jout_add(img, "tag", json_object_new_string(tag));
		jout_add(o, "image", img);
	}
	if (orchestrator(c))
		jout_add(o, "orchestrator", json_object_new_string(orchestrator(c)));
	if (c->pod_uid[0])
		jout_add(o, "pod_uuid", json_object_new_string(c->pod_uid));
	return o;
}

static json_object *resource(const char *type, const char *uid, const char *name,
			     const struct instance_info *inst)
{
	json_object *r = json_object_new_object();

	jout_add(r, "type", json_object_new_string(type));
	jout_add(r, "uid", json_object_new_string(uid));
	if (name && name[0])
		jout_add(r, "name", json_object_new_string(name));
	if (inst) {
		jout_add(r, "cloud_partition", json_object_new_string(inst->partition));
		jout_add(r, "region", json_object_new_string(inst->region));
	}
	return r;
}

/* resources[]: the instance, the ECS task and its cluster, when known. */
static json_object *resources(const struct finding_in *in)
{
	json_object *arr = json_object_new_array();
	const struct instance_info *inst = in->instance;
	char name[300];

	if (inst)
		json_object_array_add(arr, resource("AWS::EC2::Instance", inst->instance_id,
						    inst->hostname[0] ? inst->hostname : in->hostname,
						    inst));
	if (in->task) {
		snprintf(name, sizeof(name), "%s%s%s", in->task->family,
			 in->task->revision[0] ? ":" : "", in->task->revision);
		json_object_array_add(arr, resource("AWS::ECS::Task", in->task->task_arn, name,
						    inst));
	}
	if (in->task && in->ecs && in->ecs->cluster[0])
		json_object_array_add(arr, resource("AWS::ECS::Cluster",
						    in->ecs->cluster_arn[0] ? in->ecs->cluster_arn :
									      in->ecs->cluster,
						    in->ecs->cluster, inst));
	if (!json_object_array_length(arr)) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static json_object *cloud_obj(const struct instance_info *inst)
{
	json_object *c = json_object_new_object(), *acct = json_object_new_object();

	jout_add(c, "provider", json_object_new_string("AWS"));
	jout_add(c, "region", json_object_new_string(inst->region));
	if (inst->zone[0])
		jout_add(c, "zone", json_object_new_string(inst->zone));
	jout_add(c, "cloud_partition", json_object_new_string(inst->partition));
	jout_add(acct, "uid", json_object_new_string(inst->account_id));
	jout_add(acct, "type_id", json_object_new_int(10)); /* AWS Account */
	jout_add(acct, "type", json_object_new_string("AWS Account"));
	jout_add(c, "account", acct);
	return c;
}

static json_object *process_obj(const struct finding_in *in)
{
	json_object *p = json_object_new_object(), *f, *u;
	const char *base;
	char uid[16];

	jout_add(p, "pid", json_object_new_int64(in->pid));
	jout_add(p, "name", jout_cstr(in->comm, NAME_MAX_OUT));
	if (in->cmdline && in->cmdline_len)
		jout_add(p, "cmd_line", jout_safe_str(in->cmdline, in->cmdline_len, CMDLINE_MAX_OUT));
	if (in->created_ms)
		jout_add(p, "created_time", json_object_new_int64((int64_t)in->created_ms));
	if (in->exe && in->exe[0]) {
		f = json_object_new_object();
		base = strrchr(in->exe, '/');
		jout_add(f, "name", jout_cstr(base ? base + 1 : in->exe, NAME_MAX_OUT));
		jout_add(f, "path", jout_cstr(in->exe, PATH_MAX_OUT));
		jout_add(f, "type_id", json_object_new_int(1)); /* regular file */
		if (in->sha256) {
			json_object *hashes = json_object_new_array(), *h = json_object_new_object();

			jout_add(h, "algorithm_id", json_object_new_int(3)); /* SHA-256 */
			jout_add(h, "algorithm", json_object_new_string("SHA-256"));
			jout_add(h, "value", json_object_new_string(in->sha256));
			json_object_array_add(hashes, h);
			jout_add(f, "hashes", hashes);
		}
		jout_add(p, "file", f);
	}
	u = json_object_new_object();
	snprintf(uid, sizeof(uid), "%u", in->user_uid);
	jout_add(u, "uid", json_object_new_string(uid));
	if (in->user_name)
		jout_add(u, "name", jout_cstr(in->user_name, NAME_MAX_OUT));
	jout_add(p, "user", u);
	if (in->container)
		jout_add(p, "container", container_obj(in));
	if (in->container && in->ns_pid)
		jout_int(p, "namespace_pid", in->ns_pid);
	if (in->ppid) {
		json_object *pp = json_object_new_object();

		jout_add(pp, "pid", json_object_new_int64(in->ppid));
		if (in->parent_comm)
			jout_add(pp, "name", jout_cstr(in->parent_comm, NAME_MAX_OUT));
		jout_add(p, "parent_process", pp);
	}
	return p;
}

static json_object *exec_obj(const struct execsig *x)
{
	json_object *e = json_object_new_object();

	jout_bool(e, "temp_path", x->flags & EXECSIG_TEMP_PATH);
	jout_bool(e, "memfd", x->flags & EXECSIG_MEMFD);
	jout_bool(e, "deleted", x->flags & EXECSIG_DELETED);
	jout_bool(e, "miner_name", x->flags & EXECSIG_MINER_NAME);
	jout_bool(e, "pool_url", x->flags & EXECSIG_POOL_URL);
	jout_bool(e, "miner_arguments", x->flags & EXECSIG_MINER_ARGS);
	jout_bool(e, "wallet", x->flags & EXECSIG_WALLET);
	if (x->name[0])
		jout_add(e, "matched_name", jout_cstr(x->name, NAME_MAX_OUT));
	if (x->detail[0])
		jout_add(e, "matched_argument", jout_cstr(x->detail, NAME_MAX_OUT));
	return e;
}

static json_object *unmapped(const struct finding_in *in)
{
	const struct signals *s = in->signals;
	const struct verdict *v = in->verdict;
	json_object *u = json_object_new_object(), *cpu, *conn, *sigs;

	jout_int(u, "score", v->score);
	sigs = json_object_new_array();
	for (int i = 0; i < v->nparts; i++) {
		json_object *p = json_object_new_object();

		jout_add(p, "name", json_object_new_string(v->parts[i].signal));
		jout_int(p, "weight", v->parts[i].weight);
		json_object_array_add(sigs, p);
	}
	jout_add(u, "signals", sigs);

	cpu = json_object_new_object();
	jout_ratio(cpu, "cores", s->cpu_cores);
	jout_int(cpu, "window_seconds", s->cpu_seconds);
	jout_int(cpu, "busy_threads", s->busy_threads);
	if (s->threads)
		jout_int(cpu, "threads", s->threads);
	jout_bool(cpu, "saturated", v->cpu_saturated);
	jout_bool(cpu, "steady", v->cpu_steady);
	jout_ratio(cpu, "steady_cores", s->steady_cores);
	jout_ratio(cpu, "steady_variation", s->steady_cv);
	jout_int(cpu, "steady_seconds", s->steady_seconds);
	if (s->container_cores > 0)
		jout_ratio(cpu, "container_cores", s->container_cores);
	jout_add(u, "cpu", cpu);
	if (s->has_conn) {
		conn = json_object_new_object();
		jout_add(conn, "peer", json_object_new_string(s->conn_peer));
		jout_add(conn, "stream", json_object_new_string(proto__stream_name(s->stream)));
		jout_int(conn, "age_seconds", s->conn_age_s);
		jout_int(conn, "bytes_out", (int64_t)s->conn_bytes_out);
		jout_int(conn, "bytes_in", (int64_t)s->conn_bytes_in);
		jout_int(conn, "bytes_per_minute_out",
			(int64_t)correlator__per_minute(s->conn_bytes_out, s->conn_age_s));
		jout_int(conn, "bytes_per_minute_in",
			(int64_t)correlator__per_minute(s->conn_bytes_in, s->conn_age_s));
		jout_int(conn, "messages_out", (int64_t)s->conn_msgs_out);
		jout_int(conn, "messages_in", (int64_t)s->conn_msgs_in);
		jout_int(conn, "server_pushes", (int64_t)s->conn_pushes);
		jout_int(conn, "client_unprompted", (int64_t)s->conn_client_unprompted);
		if (s->push_interval_s > 0)
			jout_ratio(conn, "push_interval_seconds", s->push_interval_s);
		if (s->submit_interval_s > 0)
			jout_ratio(conn, "client_interval_seconds", s->submit_interval_s);
		jout_int(conn, "average_message_bytes_out",
			s->conn_msgs_out ? (int64_t)(s->conn_bytes_out / s->conn_msgs_out) : 0);
		jout_int(conn, "average_message_bytes_in",
			s->conn_msgs_in ? (int64_t)(s->conn_bytes_in / s->conn_msgs_in) : 0);
		jout_bool(conn, "pool_like", v->pool_like_conn);
		jout_bool(conn, "pool_port", s->pool_port);
		jout_int(conn, "open_connections", s->nconns);
		jout_add(u, "connection", conn);
	}
	if (s->proto.kind != PROTO_NONE) {
		json_object *p = json_object_new_object();

		jout_add(p, "name", json_object_new_string(proto__name(s->proto.kind)));
		jout_add(p, "method", jout_cstr(s->proto.method, 64));
		jout_add(p, "direction", json_object_new_string(s->proto_dir == 0 ? "sent" : "received"));
		jout_add(p, "peer", json_object_new_string(s->proto_peer));
		jout_add(u, "protocol", p);
	}
	if (s->pool_name[0]) {
		json_object *n = json_object_new_object();

		jout_add(n, "pool_name", jout_cstr(s->pool_name, NAME_MAX_OUT));
		jout_add(n, "seen_in", json_object_new_string(s->pool_name_via));
		jout_add(u, "names", n);
	}
	jout_add(u, "exec", exec_obj(&s->exec));
	if (in->boot_id)
		jout_add(u, "boot_id", json_object_new_string(in->boot_id));
	if (in->cgroup_id)
		jout_add(u, "cgroup_id", json_object_new_int64((int64_t)in->cgroup_id));
	if (!in->instance && in->instance_missing)
		jout_add(u, "cloud_context_missing", jout_cstr(in->instance_missing, 512));
	if (in->instance) {
		json_object *c = json_object_new_object();

		if (in->instance->instance_type[0])
			jout_add(c, "instance_type", json_object_new_string(in->instance->instance_type));
		if (in->instance->architecture[0])
			jout_add(c, "architecture", json_object_new_string(in->instance->architecture));
		if (in->instance->image_id[0])
			jout_add(c, "image_id", json_object_new_string(in->instance->image_id));
		jout_add(u, "cloud", c);
	}
	if (in->container) {
		json_object *c = json_object_new_object();

		if (in->container->ecs_task_id[0])
			jout_add(c, "ecs_task_id_from_cgroup",
				 json_object_new_string(in->container->ecs_task_id));
		if (in->task) {
			if (in->task->docker_name[0])
				jout_add(c, "docker_name", json_object_new_string(in->task->docker_name));
			if (in->task->known_status[0])
				jout_add(c, "task_status", json_object_new_string(in->task->known_status));
			if (in->task->family[0])
				jout_add(c, "task_family", json_object_new_string(in->task->family));
			if (in->task->revision[0])
				jout_add(c, "task_revision", json_object_new_string(in->task->revision));
			if (in->ecs && in->ecs->container_instance_arn[0])
				jout_add(c, "container_instance_arn",
					 json_object_new_string(in->ecs->container_instance_arn));
		} else if (in->task_missing) {
			jout_add(c, "ecs_context_missing", jout_cstr(in->task_missing, 512));
		}
		jout_add(u, "container", c);
	}
	return u;
}

json_object *finding__metadata(void)
{
	json_object *md = json_object_new_object(), *prod = json_object_new_object();

	jout_add(prod, "name", json_object_new_string("minerwatch"));
	jout_add(prod, "vendor_name", json_object_new_string("minerwatch"));
	jout_add(prod, "version", json_object_new_string(MW_VERSION));
	jout_add(md, "product", prod);
	jout_add(md, "version", json_object_new_string(OCSF_VERSION));
	return md;
}

json_object *finding__device(const char *hostname, const char *boot_id, const char *os_name,
			     const char *kernel_release)
{
	json_object *dev = json_object_new_object(), *os = json_object_new_object();

	jout_add(dev, "type_id", json_object_new_int(1)); /* server */
	if (hostname)
		jout_add(dev, "hostname", jout_cstr(hostname, NAME_MAX_OUT));
	if (boot_id)
		jout_add(dev, "boot_uid", json_object_new_string(boot_id));
	jout_add(os, "name", json_object_new_string(os_name ? os_name : "Linux"));
	jout_add(os, "type_id", json_object_new_int(200)); /* Linux */
	if (kernel_release)
		jout_add(os, "kernel_release", jout_cstr(kernel_release, NAME_MAX_OUT));
	jout_add(dev, "os", os);
	return dev;
}

char *finding__build(const struct finding_in *in)
{
	json_object *root = json_object_new_object(), *md, *fi, *ev, *evs, *dev;
	const struct verdict *v = in->verdict;
	int conf_id;

	if (!root)
		return NULL;
	jout_add(root, "class_uid", json_object_new_int(CLASS_DETECTION_FINDING));
	jout_add(root, "category_uid", json_object_new_int(CATEGORY_FINDINGS));
	jout_add(root, "activity_id", json_object_new_int(in->activity));
	jout_add(root, "type_uid", json_object_new_int64(CLASS_DETECTION_FINDING * 100 + in->activity));
	jout_add(root, "time", json_object_new_int64((int64_t)in->time_ms));
	jout_add(root, "severity_id", json_object_new_int(v->severity_id));
	jout_add(root, "confidence_score", json_object_new_int(v->confidence));
	conf_id = v->confidence >= 80 ? 3 : v->confidence >= 50 ? 2 : 1;
	jout_add(root, "confidence_id", json_object_new_int(conf_id));
	jout_add(root, "status_id", json_object_new_int(in->activity == FINDING_CLOSE ? 4 : 1));
	jout_add(root, "is_alert", json_object_new_boolean(1));

	md = finding__metadata();
	{
		json_object *profiles = json_object_new_array();

		json_object_array_add(profiles, json_object_new_string("host"));
		if (in->instance)
			json_object_array_add(profiles, json_object_new_string("cloud"));
		if (in->container)
			json_object_array_add(profiles, json_object_new_string("container"));
		jout_add(md, "profiles", profiles);
	}
	jout_add(md, "uid", json_object_new_string(in->uid));
	jout_add(root, "metadata", md);

	fi = json_object_new_object();
	jout_add(fi, "uid", json_object_new_string(in->uid));
	jout_add(fi, "title", jout_cstr(v->title, 512));
	jout_add(fi, "desc", jout_cstr(v->why, 4096));
	jout_add(fi, "first_seen_time", json_object_new_int64((int64_t)in->first_seen_ms));
	jout_add(fi, "last_seen_time", json_object_new_int64((int64_t)in->last_seen_ms));
	jout_add(fi, "attacks", attacks());
	jout_add(root, "finding_info", fi);

	evs = json_object_new_array();
	ev = json_object_new_object();
	jout_add(ev, "process", process_obj(in));
	json_object_array_add(evs, ev);
	for (int i = 0; i < in->npeers && i < FINDING_MAX_PEERS; i++) {
		json_object *e = json_object_new_object(), *d = json_object_new_object();

		jout_add(d, "ip", json_object_new_string(in->peers[i].ip));
		jout_add(d, "port", json_object_new_int(in->peers[i].port));
		jout_add(e, "dst_endpoint", d);
		json_object_array_add(evs, e);
	}
	jout_add(root, "evidences", evs);

	dev = finding__device(in->hostname, in->boot_id, in->os_name, in->kernel_release);
	if (in->instance) {
		const struct instance_info *inst = in->instance;

		jout_add(dev, "instance_uid", json_object_new_string(inst->instance_id));
		jout_add(dev, "region", json_object_new_string(inst->region));
		if (inst->instance_type[0])
			jout_add(dev, "model", json_object_new_string(inst->instance_type));
		if (inst->image_id[0]) {
			json_object *img = json_object_new_object();

			jout_add(img, "uid", json_object_new_string(inst->image_id));
			jout_add(dev, "image", img);
		}
		if (inst->local_ipv4[0])
			jout_add(dev, "ip", json_object_new_string(inst->local_ipv4));
		jout_add(root, "cloud", cloud_obj(inst));
	}
	jout_add(root, "device", dev);
	jout_add(root, "resources", resources(in));

	jout_add(root, "unmapped", unmapped(in));
	return jout_line(root);
}

void finding__uid(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[37])
{
	uint8_t md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	char key[128];
	int n = snprintf(key, sizeof(key), "%s/%u/%llu", boot_id, pid,
			 (unsigned long long)start_ticks);

	/* snprintf returns the length it wanted: hash only what is in key. */
	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	sha256_init(&ctx);
	sha256_update(&ctx, (size_t)n, (const uint8_t *)key);
	sha256_digest(&ctx, sizeof(md), md);
	/* Shaped as a version-5-style UUID: stable across restarts, never reused. */
	md[6] = (md[6] & 0x0f) | 0x50;
	md[8] = (md[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
		 md[12], md[13], md[14], md[15]);
}

char *finding__closed(const char *last_line, uint64_t now_ms)
{
	json_object *root = json_tokener_parse(last_line), *v;

	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return NULL;
	}
	if (finding__asff_close(root, now_ms))
		return jout_line(root);
	if (!json_object_object_get_ex(root, "class_uid", &v) ||
	    json_object_get_int(v) != CLASS_DETECTION_FINDING) {
		json_object_put(root);
		return NULL;
	}
	jout_add(root, "activity_id", json_object_new_int(FINDING_CLOSE));
	jout_add(root, "type_uid",
		 json_object_new_int64(CLASS_DETECTION_FINDING * 100 + FINDING_CLOSE));
	jout_add(root, "time", json_object_new_int64((int64_t)now_ms));
	jout_add(root, "status_id", json_object_new_int(4));
	return jout_line(root);
}
