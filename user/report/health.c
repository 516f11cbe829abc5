// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>

#include "finding.h"
#include "health.h"
#include "jsonout.h"

#define CLASS_APPLICATION_ERROR 6008
#define CATEGORY_APPLICATION 6
#define ACTIVITY_GENERAL_ERROR 1
#define SEVERITY_MEDIUM 3

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

char *health__events_lost(const struct health_lost *in)
{
	json_object *root = json_object_new_object(), *md, *u, *h, *profiles;
	char msg[256];

	if (!root)
		return NULL;
	snprintf(msg, sizeof(msg),
		 "minerwatch lost %llu kernel events (%llu since its last report): detection "
		 "may be impaired. A flood of execs or connections can be an attempt to blind "
		 "the sensor.",
		 (unsigned long long)in->total, (unsigned long long)in->since_last);
	jout_add(root, "class_uid", json_object_new_int(CLASS_APPLICATION_ERROR));
	jout_add(root, "category_uid", json_object_new_int(CATEGORY_APPLICATION));
	jout_add(root, "activity_id", json_object_new_int(ACTIVITY_GENERAL_ERROR));
	jout_add(root, "type_uid",
		 json_object_new_int64(CLASS_APPLICATION_ERROR * 100 + ACTIVITY_GENERAL_ERROR));
	jout_add(root, "time", json_object_new_int64((int64_t)in->time_ms));
	jout_add(root, "severity_id", json_object_new_int(SEVERITY_MEDIUM));
	jout_add(root, "message", json_object_new_string(msg));

	md = finding__metadata();
	profiles = json_object_new_array();
	json_object_array_add(profiles, json_object_new_string("host"));
	jout_add(md, "profiles", profiles);
	jout_add(root, "metadata", md);
	jout_add(root, "device",
		 finding__device(in->hostname, in->boot_id, in->os_name, in->kernel_release));

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
