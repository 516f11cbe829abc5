// SPDX-License-Identifier: Apache-2.0
/* The self-check's verdicts: see selfcheck.h. Pure: no I/O, no clock. */
#include <stdio.h>
#include <string.h>

#include "selfcheck.h"

#define NS_PER_S 1000000000ULL

const char *selfcheck__state_name(enum sc_state s)
{
	switch (s) {
	case SC_UNVERIFIED: return "unverified";
	case SC_OK: return "ok";
	case SC_BLIND: return "not firing";
	}
	return "?";
}

static bool link_bad(enum link_verdict v)
{
	return v == LINK_DETACHED || v == LINK_CLOSED || v == LINK_REPLACED;
}

/* The new state of one hook, and why when blind. */
static enum sc_state verdict(const struct sc_hook *h, const struct sc_obs *o, char *why,
			     size_t sz)
{
	bool silent = o->exercised && !o->fired;

	if (o->link == LINK_NONE)
		return SC_UNVERIFIED; /* never attached: status says so already */
	if (link_bad(o->link)) {
		snprintf(why, sz, "%s%s%s", o->link_why[0] ? o->link_why :
					     loader__link_verdict_name(o->link),
			 silent ? "; " : "", silent ? o->canary_why : "");
		return SC_BLIND;
	}
	if (silent) {
		snprintf(why, sz, "%s%s", o->canary_why[0] ? o->canary_why :
					 "its self-check event was not seen",
			 o->why_has_cause ? "" : ": BPF link detached or program unloaded from outside");
		return SC_BLIND;
	}
	if (o->exercised)
		return SC_OK;
	/* No evidence this round: nothing changes. */
	if (h->state == SC_BLIND)
		snprintf(why, sz, "%s", h->why);
	return h->state;
}

int selfcheck__judge(struct selfcheck *sc, const struct sc_obs obs[MW_PROG_N], uint64_t now_ns)
{
	int newly = 0;

	sc->rounds++;
	for (int p = 0; p < MW_PROG_N; p++) {
		struct sc_hook *h = &sc->hook[p];
		const struct sc_obs *o = &obs[p];
		char why[sizeof(h->why)] = "";
		enum sc_state s = verdict(h, o, why, sizeof(why));

		if (o->exercised && !o->fired)
			h->silent_rounds++;
		if (s == SC_BLIND && (link_bad(o->link) || (o->exercised && !o->fired)))
			sc->failed_checks++;
		if (s == SC_BLIND && h->state != SC_BLIND) {
			h->since_ns = now_ns;
			h->unreported = true;
			sc->blinded++;
			newly++;
		}
		h->state = s;
		if (s == SC_BLIND)
			snprintf(h->why, sizeof(h->why), "%s", why);
		else
			h->why[0] = '\0';
	}
	return newly;
}

uint32_t selfcheck__due(struct selfcheck *sc, uint64_t now_ns)
{
	uint32_t mask = 0;

	for (int p = 0; p < MW_PROG_N; p++) {
		struct sc_hook *h = &sc->hook[p];

		if (!h->unreported)
			continue;
		if (h->reported_ns && now_ns - h->reported_ns < SELFCHECK_REPORT_INTERVAL_S * NS_PER_S)
			continue;
		mask |= 1U << p;
		h->unreported = false;
		h->reported_ns = now_ns;
	}
	return mask;
}

bool selfcheck__any_blind(const struct selfcheck *sc)
{
	for (int p = 0; p < MW_PROG_N; p++)
		if (sc->hook[p].state == SC_BLIND)
			return true;
	return false;
}

size_t selfcheck__reasons(const struct selfcheck *sc, const char *const names[MW_PROG_N],
			  char *buf, size_t sz)
{
	size_t n = 0;

	if (sz)
		buf[0] = '\0';
	for (int p = 0; p < MW_PROG_N; p++) {
		const struct sc_hook *h = &sc->hook[p];

		if (h->state != SC_BLIND)
			continue;
		if (n < sz)
			n += (size_t)snprintf(buf + n, sz - n, "%s%s hook not firing: %s",
					      n ? "; " : "", names[p] ? names[p] : "?", h->why);
	}
	return n < sz ? n : (sz ? sz - 1 : 0);
}

void selfcheck__cpu(const struct sc_cpu *before, const struct sc_cpu *after, const bool *sampled,
		    const bool *online, int ncpu, uint32_t hz, unsigned user_hz,
		    struct sc_cpu_result *r)
{
	memset(r, 0, sizeof(*r));
	r->first = -1;
	for (int c = 0; c < ncpu; c++) {
		bool judged = false, disabled = false, starved = false;
		uint64_t runs = 0, busy_ms = 0;

		if (!sampled[c] || !online[c])
			continue;
		if (before[c].perf_ok && after[c].perf_ok) {
			judged = true;
			disabled = after[c].perf_count <= before[c].perf_count;
		}
		if (before[c].busy_ok && after[c].busy_ok && user_hz &&
		    after[c].busy_ticks >= before[c].busy_ticks) {
			busy_ms = (after[c].busy_ticks - before[c].busy_ticks) * 1000 / user_hz;
			runs = after[c].runs >= before[c].runs ? after[c].runs - before[c].runs : 0;
			if (busy_ms >= SELFCHECK_CPU_MIN_BUSY_MS) {
				uint64_t least = (uint64_t)hz * busy_ms / 1000 *
						 SELFCHECK_CPU_MIN_SHARE_PCT / 100;

				judged = true;
				starved = runs < (least ? least : 1);
			}
		}
		r->judged += judged;
		if (!disabled && !starved)
			continue;
		if (r->first < 0) {
			r->first = c;
			r->disabled = disabled;
			r->runs = runs;
			r->busy_ms = busy_ms;
		}
		r->bad++;
	}
}

int selfcheck__parse_stat(const char *text, struct sc_cpu *cpus, int ncpu)
{
	const char *line = text;
	int found = 0;

	while (line && *line) {
		unsigned long long v[7] = { 0 };
		int cpu, n;

		if (!strncmp(line, "cpu", 3) && line[3] >= '0' && line[3] <= '9' &&
		    (n = sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
				&v[2], &v[3], &v[4], &v[5], &v[6])) == 8 &&
		    cpu >= 0 && cpu < ncpu) {
			/* user nice system idle iowait irq softirq */
			cpus[cpu].busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
			cpus[cpu].busy_ok = true;
			found++;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return found;
}
