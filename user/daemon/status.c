// SPDX-License-Identifier: Apache-2.0
/* Answers to the control socket: status, findings, version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "control.h"
#include "caps.h"
#include "cloudctx.h"
#include "mwd.h"
#include "text.h"

static const char *const ev_names[MW_EV_TYPE_MAX] = {
	[MW_EV_EXEC] = "exec", [MW_EV_EXIT] = "exit", [MW_EV_CONNECT] = "connect",
	[MW_EV_CLOSE] = "close", [MW_EV_PAYLOAD] = "payload", [MW_EV_DNS] = "dns",
};

uint64_t mwd__lost_total(const struct mw_stats *k)
{
	uint64_t n = k->conn_map_full + k->cpu_map_full + k->thread_map_full;

	for (int i = 1; i < MW_EV_TYPE_MAX; i++)
		n += k->ringbuf_drops[i];
	return n;
}

/* Losses count against health for a minute after they last grew. */
#define LOSS_DEGRADED_NS (60ULL * 1000000000ULL)

bool mwd__healthy(struct mwd *m, char *reasons, size_t sz)
{
	bool ok = true;
	struct sink_stats ss;
	size_t n = 0;

#define REASON(...)                                                       \
	do {                                                              \
		ok = false;                                               \
		if (n < sz)                                               \
			n += (size_t)snprintf(reasons + n, sz - n, "%s", n ? "; " : ""); \
		if (n < sz)                                               \
			n += (size_t)snprintf(reasons + n, sz - n, __VA_ARGS__); \
	} while (0)

	if (sz)
		reasons[0] = '\0';
	if (!m->ready)
		REASON("starting");
	for (int i = 0; m->loader && i < loader__prog_count(m->loader); i++) {
		const struct prog_state *p = loader__prog(m->loader, i);

		if (!p->attached)
			REASON("program %s not attached: %s", p->name, p->error);
	}
	if (m->lost_last_change_ns && mwd__boot_ns() - m->lost_last_change_ns < LOSS_DEGRADED_NS)
		REASON("kernel events lost in the last minute (%llu in total): detection may be "
		       "impaired",
		       (unsigned long long)mwd__lost_total(&m->kstats));
	sink__stats(m->sink, &ss);
	if (ss.last_error)
		REASON("output %s failing: %s (%llu findings waiting)", sink__path(m->sink),
		       strerror(ss.last_error), (unsigned long long)ss.pending);
	if (m->reload_error[0])
		REASON("config reload rejected: %s", m->reload_error);
	if (m->journal_error)
		REASON("findings journal in %s cannot be saved: %s (findings held in memory only)",
		       m->cfg.state_dir, strerror(m->journal_error));
	if (selfcheck__any_blind(&m->selfcheck)) {
		const char *names[MW_PROG_N] = { 0 };
		char sc[1536];

		for (int i = 0; m->loader && i < MW_PROG_N; i++) {
			const struct prog_state *p = loader__prog(m->loader, i);

			names[i] = p ? p->name : NULL;
		}
		selfcheck__reasons(&m->selfcheck, names, sc, sizeof(sc));
		REASON("%s", sc);
	}
#undef REASON
	return ok;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	char buf[1024];

	text__utf8_safe(v, strlen(v), buf, sizeof(buf));
	json_object_object_add(o, k, json_object_new_string(buf));
}

struct lists {
	json_object *findings, *suppressed, *suspects;
};

static void add_finding(const struct open_finding *f, void *arg)
{
	struct lists *l = arg;
	json_object *o = json_object_new_object();

	if (f->uid)
		add_str(o, "uid", f->uid);
	add_u64(o, "pid", f->pid);
	add_str(o, "name", f->name);
	add_u64(o, "severity_id", (uint64_t)f->severity_id);
	add_u64(o, "confidence_score", (uint64_t)f->confidence);
	add_u64(o, "score", (uint64_t)f->score);
	add_str(o, "why", f->why);
	if (f->first_seen_ms)
		add_u64(o, "first_seen_time", f->first_seen_ms);
	if (f->suppressed_by)
		add_str(o, "suppressed_by", f->suppressed_by);
	json_object_array_add(f->kind == SUSPECT_FINDING ? l->findings :
			      f->kind == SUSPECT_SUPPRESSED ? l->suppressed : l->suspects, o);
}

/* Open findings; suppressed and below-threshold suspects when wanted. */
static void suspect_lists(struct mwd *m, json_object *o)
{
	struct lists l = {
		.findings = json_object_new_array(),
		.suppressed = json_object_new_array(),
		.suspects = json_object_new_array(),
	};

	detector__each_open(m->det, add_finding, &l);
	json_object_object_add(o, "findings", l.findings);
	json_object_object_add(o, "suppressed", l.suppressed);
	json_object_object_add(o, "suspects", l.suspects);
}

static void add_nonempty(json_object *o, const char *k, const char *v)
{
	if (v && v[0])
		add_str(o, k, v);
}

/* "instance" (IMDS) and "ecs" (the ECS agent): what is known, or why not. */
static void add_cloud(struct mwd *m, json_object *o)
{
	json_object *inst = json_object_new_object(), *ecs = json_object_new_object();
	struct cloudctx_status cs;
	const struct instance_info *i = &cs.instance;

	if (!m->cloud) {
		json_object_object_add(inst, "available", json_object_new_boolean(0));
		add_str(inst, "state", "not_started");
		add_str(inst, "reason", m->instance_missing);
		json_object_object_add(o, "instance", inst);
		add_str(ecs, "agent", "not_started");
		json_object_object_add(o, "ecs", ecs);
		return;
	}
	cloudctx__status(m->cloud, &cs);
	json_object_object_add(inst, "available", json_object_new_boolean(i->instance_id[0] != 0));
	add_str(inst, "state", imds__state_name(cs.imds));
	if (cs.imds != IMDS_OK || cs.imds_why[0])
		add_nonempty(inst, "reason", cs.imds_why[0] ? cs.imds_why : imds__state_name(cs.imds));
	if (cs.imds != IMDS_DISABLED)
		add_str(inst, "endpoint", m->cloud_opts.imds.endpoint);
	add_nonempty(inst, "account_id", i->account_id);
	add_nonempty(inst, "region", i->region);
	add_nonempty(inst, "availability_zone", i->zone);
	add_nonempty(inst, "instance_id", i->instance_id);
	add_nonempty(inst, "image_id", i->image_id);
	add_nonempty(inst, "instance_type", i->instance_type);
	add_nonempty(inst, "architecture", i->architecture);
	add_nonempty(inst, "hostname", i->hostname);
	add_nonempty(inst, "local_ipv4", i->local_ipv4);
	add_u64(inst, "fetches", cs.imds_fetches);
	add_u64(inst, "failures", cs.imds_failures);
	add_u64(inst, "tokens", cs.imds_tokens);
	add_u64(inst, "token_renewals_on_401", cs.imds_unauthorized);
	if (cs.imds_last_ok_unix_ms)
		add_u64(inst, "last_success_time", cs.imds_last_ok_unix_ms);
	json_object_object_add(o, "instance", inst);

	if (!cs.ecs_enabled)
		add_str(ecs, "agent", "disabled");
	else if (!cs.agent_checked)
		add_str(ecs, "agent", "not_asked_yet");
	else
		add_str(ecs, "agent", cs.agent == ECS_FOUND ? "reachable" :
				      cs.agent == ECS_AGENT_DOWN ? "unreachable" : "error");
	add_str(ecs, "url", m->cloud_opts.ecs_url);
	if (cs.agent != ECS_FOUND && cs.agent_checked)
		add_nonempty(ecs, "reason", cs.agent_why);
	add_nonempty(ecs, "cluster", cs.agent_info.cluster);
	add_nonempty(ecs, "cluster_arn", cs.agent_info.cluster_arn);
	add_nonempty(ecs, "container_instance_arn", cs.agent_info.container_instance_arn);
	add_nonempty(ecs, "agent_version", cs.agent_info.version);
	add_u64(ecs, "task_lookups", cs.task_lookups);
	add_u64(ecs, "tasks_cached", cs.task_cached);
	json_object_object_add(o, "ecs", ecs);
}

static json_object *status_obj(struct mwd *m)
{
	json_object *o = json_object_new_object(), *progs, *counters, *lost, *tracked, *out;
	char reasons[2048];
	bool healthy = mwd__healthy(m, reasons, sizeof(reasons));
	struct detector_stats ds;
	struct sink_stats ss;
	struct utsname un;

	add_str(o, "state", !m->ready ? "starting" : healthy ? "healthy" : "degraded");
	if (!healthy)
		add_str(o, "reasons", reasons);
	add_str(o, "version", MW_VERSION);
	add_u64(o, "pid", (uint64_t)getpid());
	add_u64(o, "uptime_seconds", (mwd__boot_ns() - m->start_boot_ns) / 1000000000ULL);
	if (m->ready_boot_ns)
		add_u64(o, "start_to_ready_ms", (m->ready_boot_ns - m->start_boot_ns) / 1000000ULL);
	if (uname(&un) == 0)
		add_str(o, "kernel", un.release);
	add_str(o, "btf", m->loader ? loader__btf_source(m->loader) : "");
	add_str(o, "cgroup_root", m->loader ? loader__cgroup_root(m->loader) : "");
	{
		json_object *w = json_object_new_array();

		for (int i = 0; i < m->nenv_warnings; i++) {
			char buf[1024];

			text__utf8_safe(m->env_warnings[i], strlen(m->env_warnings[i]), buf,
					sizeof(buf));
			json_object_array_add(w, json_object_new_string(buf));
		}
		json_object_object_add(o, "warnings", w);
	}

	progs = json_object_new_array();
	for (int i = 0; m->loader && i < loader__prog_count(m->loader); i++) {
		const struct prog_state *p = loader__prog(m->loader, i);
		json_object *po = json_object_new_object();

		add_str(po, "name", p->name);
		add_str(po, "hook", p->hook);
		json_object_object_add(po, "attached", json_object_new_boolean(p->attached));
		if (p->error[0])
			add_str(po, "error", p->error);
		if (i < MW_PROG_N) {
			const struct sc_hook *h = &m->selfcheck.hook[i];

			add_str(po, "self_check", selfcheck__state_name(h->state));
			if (h->state == SC_BLIND)
				add_str(po, "self_check_reason", h->why);
		}
		json_object_array_add(progs, po);
	}
	json_object_object_add(o, "programs", progs);

	counters = json_object_new_object();
	for (int i = 1; i < MW_EV_TYPE_MAX; i++) {
		char k[32];

		add_u64(counters, ev_names[i], m->kstats.events[i]);
		snprintf(k, sizeof(k), "%s_handled", ev_names[i]);
		add_u64(counters, k, i == MW_EV_CONNECT ? m->conns_announced : m->handled[i]);
	}
	add_u64(counters, "cpu_samples", m->kstats.cpu_samples);
	add_u64(counters, "kernel_read_errors", m->kstats.read_errors);
	add_u64(counters, "bad_records", m->bad_records);
	add_u64(counters, "control_refused", m->ctl ? control__refused(m->ctl) : 0);
	json_object_object_add(o, "counters", counters);

	lost = json_object_new_object();
	add_u64(lost, "total", mwd__lost_total(&m->kstats));
	for (int i = 1; i < MW_EV_TYPE_MAX; i++) {
		char k[32];

		snprintf(k, sizeof(k), "ringbuf_%s", ev_names[i]);
		add_u64(lost, k, m->kstats.ringbuf_drops[i]);
	}
	add_u64(lost, "conn_map_full", m->kstats.conn_map_full);
	add_u64(lost, "cpu_map_full", m->kstats.cpu_map_full);
	add_u64(lost, "thread_map_full", m->kstats.thread_map_full);
	add_u64(lost, "proc_table_full", proc_table__dropped(m->procs));
	add_u64(lost, "conn_table_full", conn_table__dropped(m->conns));
	add_u64(lost, "health_records", m->health_records);
	json_object_object_add(o, "lost", lost);

	tracked = json_object_new_object();
	add_u64(tracked, "processes", proc_table__count(m->procs));
	add_u64(tracked, "processes_evicted", proc_table__evicted(m->procs));
	add_u64(tracked, "connections", conn_table__count(m->conns));
	add_u64(tracked, "scanned_processes", m->scanned_procs);
	add_u64(tracked, "scanned_connections", m->scanned_conns);
	add_u64(tracked, "bpf_map_bytes", m->loader ? loader__map_bytes(m->loader) : 0);
	json_object_object_add(o, "tracked", tracked);

	detector__stats(m->det, &ds);
	suspect_lists(m, o);
	{
		json_object *fc = json_object_new_object();

		add_u64(fc, "created", ds.created);
		add_u64(fc, "updated", ds.updated);
		add_u64(fc, "closed", ds.closed);
		add_u64(fc, "continued_after_restart", ds.restored);
		add_u64(fc, "open", ds.open - ds.suppressed);
		add_u64(fc, "suppressed", ds.suppressed);
		add_u64(fc, "waited_for_context", ds.context_waits);
		add_u64(fc, "asff_written_as_ocsf", ds.asff_without_context);
		json_object_object_add(o, "finding_counts", fc);
	}

	{
		json_object *sc = json_object_new_object(), *blind = json_object_new_array();

		add_u64(sc, "interval_seconds", SELFCHECK_INTERVAL_S);
		add_u64(sc, "rounds", m->selfcheck.rounds);
		add_u64(sc, "failed_checks", m->selfcheck.failed_checks);
		add_u64(sc, "blinded", m->selfcheck.blinded);
		add_u64(sc, "health_records", m->selfcheck.health_records);
		for (int i = 0; m->loader && i < MW_PROG_N; i++)
			if (m->selfcheck.hook[i].state == SC_BLIND)
				json_object_array_add(blind, json_object_new_string(
								     loader__prog(m->loader, i)->name));
		json_object_object_add(sc, "not_firing", blind);
		json_object_object_add(o, "self_check", sc);
	}
	add_cloud(m, o);
	{
		json_object *priv = json_object_new_object(), *kept = json_object_new_array();

		for (int c = 0; c < 64; c++)
			if (m->caps_kept & (1ULL << c))
				json_object_array_add(kept, json_object_new_string(
								    caps__name(c) ? caps__name(c) : "?"));
		json_object_object_add(priv, "capabilities", kept);
		json_object_object_add(priv, "host_cgroup_namespace",
				       json_object_new_boolean(m->host_cgroupns));
		json_object_object_add(o, "privileges", priv);
	}

	out = json_object_new_object();
	sink__stats(m->sink, &ss);
	add_str(out, "path", sink__path(m->sink));
	add_str(out, "state", ss.last_error ? "failing" : "ok");
	if (ss.last_error)
		add_str(out, "error", strerror(ss.last_error));
	add_u64(out, "written", ss.written);
	add_u64(out, "pending", ss.pending);
	add_u64(out, "dropped", ss.dropped);
	{
		json_object *jn = json_object_new_object();

		add_str(jn, "dir", m->cfg.state_dir);
		add_str(jn, "state", m->journal_error ? "failing" : "ok");
		if (m->journal_error)
			add_str(jn, "error", strerror(m->journal_error));
		add_u64(jn, "saves", m->journal_saves);
		add_u64(jn, "replayed", m->journal_replayed);
		add_u64(jn, "already_written", m->journal_already_written);
		json_object_object_add(out, "journal", jn);
	}
	json_object_object_add(o, "output", out);
	return o;
}

static char *to_line(json_object *o)
{
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

char *mwd__control(const char *cmd, void *arg)
{
	struct mwd *m = arg;

	if (!strcmp(cmd, "status"))
		return to_line(status_obj(m));
	if (!strcmp(cmd, "findings")) {
		json_object *o = json_object_new_object();

		suspect_lists(m, o);
		return to_line(o);
	}
	if (!strcmp(cmd, "version")) {
		json_object *o = json_object_new_object();

		add_str(o, "version", MW_VERSION);
		return to_line(o);
	}
	return NULL;
}
