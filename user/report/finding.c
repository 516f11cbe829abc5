// SPDX-License-Identifier: Apache-2.0
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "finding.h"
#include "text.h"

#define OCSF_VERSION "1.8.0"
#define CLASS_DETECTION_FINDING 2004
#define CATEGORY_FINDINGS 2

/* Bounds on attacker-controlled text, before escaping. */
#define NAME_MAX_OUT 256
#define PATH_MAX_OUT 2048
#define CMDLINE_MAX_OUT 8192

static json_object *safe_str(const void *s, size_t len, size_t outsz)
{
	char *buf = malloc(outsz);
	json_object *o;

	if (!buf)
		return NULL;
	text__utf8_safe(s, len, buf, outsz);
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

static json_object *cstr(const char *s, size_t outsz)
{
	return safe_str(s, strlen(s), outsz);
}

static void add(json_object *o, const char *k, json_object *v)
{
	if (v)
		json_object_object_add(o, k, v);
}

static json_object *attacks(void)
{
	json_object *arr = json_object_new_array(), *a = json_object_new_object();
	json_object *tech = json_object_new_object(), *tac = json_object_new_object();

	add(tech, "uid", json_object_new_string("T1496"));
	add(tech, "name", json_object_new_string("Resource Hijacking"));
	add(tac, "uid", json_object_new_string("TA0040"));
	add(tac, "name", json_object_new_string("Impact"));
	add(a, "technique", tech);
	add(a, "tactic", tac);
	json_object_array_add(arr, a);
	return arr;
}

static json_object *process_obj(const struct finding_in *in)
{
	json_object *p = json_object_new_object(), *f, *u;
	const char *base;
	char uid[16];

	add(p, "pid", json_object_new_int64(in->pid));
	add(p, "name", cstr(in->comm, NAME_MAX_OUT));
	if (in->cmdline && in->cmdline_len)
		add(p, "cmd_line", safe_str(in->cmdline, in->cmdline_len, CMDLINE_MAX_OUT));
	if (in->created_ms)
		add(p, "created_time", json_object_new_int64((int64_t)in->created_ms));
	if (in->exe && in->exe[0]) {
		f = json_object_new_object();
		base = strrchr(in->exe, '/');
		add(f, "name", cstr(base ? base + 1 : in->exe, NAME_MAX_OUT));
		add(f, "path", cstr(in->exe, PATH_MAX_OUT));
		add(f, "type_id", json_object_new_int(1)); /* regular file */
		if (in->sha256) {
			json_object *hashes = json_object_new_array(), *h = json_object_new_object();

			add(h, "algorithm_id", json_object_new_int(3)); /* SHA-256 */
			add(h, "algorithm", json_object_new_string("SHA-256"));
			add(h, "value", json_object_new_string(in->sha256));
			json_object_array_add(hashes, h);
			add(f, "hashes", hashes);
		}
		add(p, "file", f);
	}
	u = json_object_new_object();
	snprintf(uid, sizeof(uid), "%u", in->user_uid);
	add(u, "uid", json_object_new_string(uid));
	if (in->user_name)
		add(u, "name", cstr(in->user_name, NAME_MAX_OUT));
	add(p, "user", u);
	if (in->ppid) {
		json_object *pp = json_object_new_object();

		add(pp, "pid", json_object_new_int64(in->ppid));
		if (in->parent_comm)
			add(pp, "name", cstr(in->parent_comm, NAME_MAX_OUT));
		add(p, "parent_process", pp);
	}
	return p;
}

static void add_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* Two decimals are all a core count or a ratio needs. */
static void add_ratio(json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double((double)(int64_t)(v * 100 + 0.5) / 100));
}

static json_object *exec_obj(const struct execsig *x)
{
	json_object *e = json_object_new_object();

	add_bool(e, "temp_path", x->flags & EXECSIG_TEMP_PATH);
	add_bool(e, "memfd", x->flags & EXECSIG_MEMFD);
	add_bool(e, "deleted", x->flags & EXECSIG_DELETED);
	add_bool(e, "miner_name", x->flags & EXECSIG_MINER_NAME);
	add_bool(e, "pool_url", x->flags & EXECSIG_POOL_URL);
	add_bool(e, "miner_arguments", x->flags & EXECSIG_MINER_ARGS);
	add_bool(e, "wallet", x->flags & EXECSIG_WALLET);
	if (x->name[0])
		add(e, "matched_name", cstr(x->name, NAME_MAX_OUT));
	if (x->detail[0])
		add(e, "matched_argument", cstr(x->detail, NAME_MAX_OUT));
	return e;
}

static json_object *unmapped(const struct finding_in *in)
{
	const struct signals *s = in->signals;
	const struct verdict *v = in->verdict;
	json_object *u = json_object_new_object(), *cpu, *conn, *sigs;

	add_int(u, "score", v->score);
	sigs = json_object_new_array();
	for (int i = 0; i < v->nparts; i++) {
		json_object *p = json_object_new_object();

		add(p, "name", json_object_new_string(v->parts[i].signal));
		add_int(p, "weight", v->parts[i].weight);
		json_object_array_add(sigs, p);
	}
	add(u, "signals", sigs);

	cpu = json_object_new_object();
	add_ratio(cpu, "cores", s->cpu_cores);
	add_int(cpu, "window_seconds", s->cpu_seconds);
	add_int(cpu, "busy_threads", s->busy_threads);
	if (s->threads)
		add_int(cpu, "threads", s->threads);
	add_bool(cpu, "saturated", v->cpu_saturated);
	add_bool(cpu, "steady", v->cpu_steady);
	add_ratio(cpu, "steady_cores", s->steady_cores);
	add_ratio(cpu, "steady_variation", s->steady_cv);
	add_int(cpu, "steady_seconds", s->steady_seconds);
	if (s->container_cores > 0)
		add_ratio(cpu, "container_cores", s->container_cores);
	add(u, "cpu", cpu);
	if (s->has_conn) {
		conn = json_object_new_object();
		add(conn, "peer", json_object_new_string(s->conn_peer));
		add(conn, "stream", json_object_new_string(proto__stream_name(s->stream)));
		add_int(conn, "age_seconds", s->conn_age_s);
		add_int(conn, "bytes_out", (int64_t)s->conn_bytes_out);
		add_int(conn, "bytes_in", (int64_t)s->conn_bytes_in);
		add_int(conn, "bytes_per_minute_out",
			(int64_t)correlator__per_minute(s->conn_bytes_out, s->conn_age_s));
		add_int(conn, "bytes_per_minute_in",
			(int64_t)correlator__per_minute(s->conn_bytes_in, s->conn_age_s));
		add_int(conn, "messages_out", (int64_t)s->conn_msgs_out);
		add_int(conn, "messages_in", (int64_t)s->conn_msgs_in);
		add_int(conn, "server_pushes", (int64_t)s->conn_pushes);
		add_int(conn, "client_unprompted", (int64_t)s->conn_client_unprompted);
		if (s->push_interval_s > 0)
			add_ratio(conn, "push_interval_seconds", s->push_interval_s);
		if (s->submit_interval_s > 0)
			add_ratio(conn, "client_interval_seconds", s->submit_interval_s);
		add_int(conn, "average_message_bytes_out",
			s->conn_msgs_out ? (int64_t)(s->conn_bytes_out / s->conn_msgs_out) : 0);
		add_int(conn, "average_message_bytes_in",
			s->conn_msgs_in ? (int64_t)(s->conn_bytes_in / s->conn_msgs_in) : 0);
		add_bool(conn, "pool_like", v->pool_like_conn);
		add_bool(conn, "pool_port", s->pool_port);
		add_int(conn, "open_connections", s->nconns);
		add(u, "connection", conn);
	}
	if (s->proto.kind != PROTO_NONE) {
		json_object *p = json_object_new_object();

		add(p, "name", json_object_new_string(proto__name(s->proto.kind)));
		add(p, "method", cstr(s->proto.method, 64));
		add(p, "direction", json_object_new_string(s->proto_dir == 0 ? "sent" : "received"));
		add(p, "peer", json_object_new_string(s->proto_peer));
		add(u, "protocol", p);
	}
	if (s->pool_name[0]) {
		json_object *n = json_object_new_object();

		add(n, "pool_name", cstr(s->pool_name, NAME_MAX_OUT));
		add(n, "seen_in", json_object_new_string(s->pool_name_via));
		add(u, "names", n);
	}
	add(u, "exec", exec_obj(&s->exec));
	if (in->boot_id)
		add(u, "boot_id", json_object_new_string(in->boot_id));
	if (in->cgroup_id)
		add(u, "cgroup_id", json_object_new_int64((int64_t)in->cgroup_id));
	if (in->instance_missing)
		add(u, "cloud_context_missing", json_object_new_string(in->instance_missing));
	return u;
}

char *finding__build(const struct finding_in *in)
{
	json_object *root = json_object_new_object(), *md, *prod, *fi, *ev, *evs, *dev, *os;
	const struct verdict *v = in->verdict;
	char *line = NULL;
	int conf_id;

	if (!root)
		return NULL;
	add(root, "class_uid", json_object_new_int(CLASS_DETECTION_FINDING));
	add(root, "category_uid", json_object_new_int(CATEGORY_FINDINGS));
	add(root, "activity_id", json_object_new_int(in->activity));
	add(root, "type_uid", json_object_new_int64(CLASS_DETECTION_FINDING * 100 + in->activity));
	add(root, "time", json_object_new_int64((int64_t)in->time_ms));
	add(root, "severity_id", json_object_new_int(v->severity_id));
	add(root, "confidence_score", json_object_new_int(v->confidence));
	conf_id = v->confidence >= 80 ? 3 : v->confidence >= 50 ? 2 : 1;
	add(root, "confidence_id", json_object_new_int(conf_id));
	add(root, "status_id", json_object_new_int(in->activity == FINDING_CLOSE ? 4 : 1));
	add(root, "is_alert", json_object_new_boolean(1));

	md = json_object_new_object();
	prod = json_object_new_object();
	add(prod, "name", json_object_new_string("minerwatch"));
	add(prod, "vendor_name", json_object_new_string("minerwatch"));
	add(prod, "version", json_object_new_string(MW_VERSION));
	add(md, "product", prod);
	add(md, "version", json_object_new_string(OCSF_VERSION));
	{
		json_object *profiles = json_object_new_array();

		json_object_array_add(profiles, json_object_new_string("host"));
		add(md, "profiles", profiles);
	}
	add(md, "uid", json_object_new_string(in->uid));
	add(root, "metadata", md);

	fi = json_object_new_object();
	add(fi, "uid", json_object_new_string(in->uid));
	add(fi, "title", cstr(v->title, 512));
	add(fi, "desc", cstr(v->why, 4096));
	add(fi, "first_seen_time", json_object_new_int64((int64_t)in->first_seen_ms));
	add(fi, "last_seen_time", json_object_new_int64((int64_t)in->last_seen_ms));
	add(fi, "attacks", attacks());
	add(root, "finding_info", fi);

	evs = json_object_new_array();
	ev = json_object_new_object();
	add(ev, "process", process_obj(in));
	json_object_array_add(evs, ev);
	for (int i = 0; i < in->npeers && i < FINDING_MAX_PEERS; i++) {
		json_object *e = json_object_new_object(), *d = json_object_new_object();

		add(d, "ip", json_object_new_string(in->peers[i].ip));
		add(d, "port", json_object_new_int(in->peers[i].port));
		add(e, "dst_endpoint", d);
		json_object_array_add(evs, e);
	}
	add(root, "evidences", evs);

	dev = json_object_new_object();
	add(dev, "type_id", json_object_new_int(1)); /* server */
	if (in->hostname)
		add(dev, "hostname", cstr(in->hostname, NAME_MAX_OUT));
	if (in->boot_id)
		add(dev, "boot_uid", json_object_new_string(in->boot_id));
	os = json_object_new_object();
	add(os, "name", json_object_new_string(in->os_name ? in->os_name : "Linux"));
	add(os, "type_id", json_object_new_int(200)); /* Linux */
	if (in->kernel_release)
		add(os, "kernel_release", cstr(in->kernel_release, NAME_MAX_OUT));
	add(dev, "os", os);
	add(root, "device", dev);

	add(root, "unmapped", unmapped(in));

	line = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return line;
}

void finding__uid(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char key[128];
	int n = snprintf(key, sizeof(key), "%s/%u/%llu", boot_id, pid,
			 (unsigned long long)start_ticks);

	/* snprintf returns the length it wanted: hash only what is in key. */
	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	EVP_Digest(key, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	/* Shaped as a version-5-style UUID: stable across restarts, never reused. */
	md[6] = (md[6] & 0x0f) | 0x50;
	md[8] = (md[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
		 md[12], md[13], md[14], md[15]);
}
