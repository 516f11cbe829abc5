// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>

#include "finding.h"
#include "health.h"
#include "jsonout.h"

#define CLASS_APPLICATION_ERROR 6008
#define CATEGORY_APPLICATION 6
#define ACTIVITY_GENERAL_ERROR 1
#define SEVERITY_MEDIUM 3
#define SEVERITY_HIGH 4

static const char *const ev_names[MW_EV_TYPE_MAX] = {
	[MW_EV_EXEC] = "exec", [MW_EV_EXIT] = "exit", [MW_EV_CONNECT] = "connect",
	[MW_EV_CLOSE] = "close", [MW_EV_PAYLOAD] = "payload", [MW_EV_DNS] = "dns",
};

static json_object *breakdown(const struct health_lost *in)
{
	json_object *o = json_object_new_object();
	char k[32];

	for (int i = 1; i < MW_EV_TYPE_MAX; i++) {
		snprintf(k, sizeof(k), "ringbuf_%s", ev_names[i]);
		jout_int(o, k, (int64_t)in->kstats->ringbuf_drops[i]);
	}
	jout_int(o, "conn_map_full", (int64_t)in->kstats->conn_map_full);
	jout_int(o, "cpu_map_full", (int64_t)in->kstats->cpu_map_full);
	jout_int(o, "thread_map_full", (int64_t)in->kstats->thread_map_full);
	jout_int(o, "proc_table_full", (int64_t)in->proc_table_full);
	jout_int(o, "conn_table_full", (int64_t)in->conn_table_full);
	return o;
}

/* The parts every health record shares: class, time, severity, message, metadata, device. */
static json_object *record(uint64_t time_ms, int severity, const char *msg, const char *hostname,
			   const char *boot_id, const char *os_name, const char *kernel_release)
{
	json_object *root = json_object_new_object(), *md, *profiles;

	if (!root)
		return NULL;
	jout_add(root, "class_uid", json_object_new_int(CLASS_APPLICATION_ERROR));
	jout_add(root, "category_uid", json_object_new_int(CATEGORY_APPLICATION));
	jout_add(root, "activity_id", json_object_new_int(ACTIVITY_GENERAL_ERROR));
	jout_add(root, "type_uid",
		 json_object_new_int64(CLASS_APPLICATION_ERROR * 100 + ACTIVITY_GENERAL_ERROR));
	jout_add(root, "time", json_object_new_int64((int64_t)time_ms));
	jout_add(root, "severity_id", json_object_new_int(severity));
	jout_add(root, "message", json_object_new_string(msg));

	md = finding__metadata();
	profiles = json_object_new_array();
	json_object_array_add(profiles, json_object_new_string("host"));
	jout_add(md, "profiles", profiles);
	jout_add(root, "metadata", md);
	jout_add(root, "device", finding__device(hostname, boot_id, os_name, kernel_release));
	return root;
}

char *health__events_lost(const struct health_lost *in)
{
	json_object *root, *u, *h;
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "minerwatch lost %llu kernel events (%llu since its last report): detection "
		 "may be impaired. A flood of execs or connections can be an attempt to blind "
		 "the sensor.",
		 (unsigned long long)in->total, (unsigned long long)in->since_last);
	root = record(in->time_ms, SEVERITY_MEDIUM, msg, in->hostname, in->boot_id, in->os_name,
		      in->kernel_release);
	if (!root)
		return NULL;
	u = json_object_new_object();
	h = json_object_new_object();
	jout_add(h, "kind", json_object_new_string("events_lost"));
	jout_int(h, "lost_total", (int64_t)in->total);
	jout_int(h, "lost_since_last_report", (int64_t)in->since_last);
	jout_int(h, "report_interval_seconds", in->interval_s);
	jout_add(h, "lost", breakdown(in));
	jout_add(u, "health", h);
	jout_add(root, "unmapped", u);
	return jout_line(root);
}

char *health__hooks_blinded(const struct health_blind *in)
{
	json_object *root, *u, *h, *hooks;
	char msg[512], names[256];
	size_t n = 0;
	int still = 0;

	names[0] = '\0';
	for (int i = 0; i < in->nhooks; i++) {
		if (n < sizeof(names))
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
					      i ? ", " : "", in->hooks[i].name);
		still += in->hooks[i].still_blind != 0;
	}
	snprintf(msg, sizeof(msg),
		 "minerwatch self-check: the %s hook%s %s not firing (BPF link detached, closed "
		 "or replaced from outside): detection is impaired. Taking a sensor's hooks away "
		 "is an attempt to blind it.%s",
		 names, in->nhooks > 1 ? "s" : "", still ? (in->nhooks > 1 ? "are" : "is") :
		 (in->nhooks > 1 ? "were" : "was"),
		 still ? "" : " They fire again now.");
	root = record(in->time_ms, SEVERITY_HIGH, msg, in->hostname, in->boot_id, in->os_name,
		      in->kernel_release);
	if (!root)
		return NULL;
	u = json_object_new_object();
	h = json_object_new_object();
	hooks = json_object_new_array();
	for (int i = 0; i < in->nhooks; i++) {
		const struct health_hook *k = &in->hooks[i];
		json_object *o = json_object_new_object();

		jout_add(o, "name", json_object_new_string(k->name));
		if (k->hook)
			jout_add(o, "hook", json_object_new_string(k->hook));
		if (k->why)
			jout_add(o, "why", json_object_new_string(k->why));
		if (k->since_ms)
			jout_int(o, "since_time", (int64_t)k->since_ms);
		jout_add(o, "still_not_firing", json_object_new_boolean(k->still_blind != 0));
		json_object_array_add(hooks, o);
	}
	jout_add(h, "kind", json_object_new_string("hooks_not_firing"));
	jout_add(h, "hooks", hooks);
	jout_int(h, "blinded_total", (int64_t)in->blinded_total);
	jout_int(h, "check_interval_seconds", in->check_interval_s);
	jout_int(h, "report_interval_seconds", in->interval_s);
	jout_add(u, "health", h);
	jout_add(root, "unmapped", u);
	return jout_line(root);
}
