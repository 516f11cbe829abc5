// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "execsig.h"

static bool prefixed(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool base58(int c)
{
	return isalnum(c) && c != '0' && c != 'O' && c != 'I' && c != 'l';
}

int execsig__wallet_shaped(const char *s, size_t n)
{
	size_t i;

	/* A pool login is often WALLET.WORKER or WALLET+DIFF: judge the wallet. */
	for (i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == '+' || s[i] == '/')
			break;
	n = i;
	/* Monero (4..., 8...) standard and integrated addresses. */
	if ((n == 95 || n == 106) && (s[0] == '4' || s[0] == '8')) {
		for (i = 0; i < n && base58((unsigned char)s[i]); i++)
			;
		if (i == n)
			return 1;
	}
	/* Ethereum-style 0x + 40 hex. */
	if (n == 42 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < n && isxdigit((unsigned char)s[i]); i++)
			;
		if (i == n)
			return 1;
	}
	/* Bitcoin bech32 (bc1...), lower case, 42-62 characters. */
	if (n >= 42 && n <= 62 && prefixed(s, "bc1")) {
		for (i = 3; i < n && (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]));
		     i++)
			;
		if (i == n)
			return 1;
	}
	return 0;
}

static bool name_listed(const char *name, const char *list)
{
	size_t n = strlen(name);

	if (!n || !list)
		return false;
	while (*list) {
		size_t l = strcspn(list, ",");

		/* Exact, or the name with a suffix like "-notls" or "-6.21". */
		if (l && n >= l && !strncasecmp(name, list, l) &&
		    (n == l || name[l] == '-' || name[l] == '_' || name[l] == '.'))
			return true;
		list += l;
		if (*list == ',')
			list++;
	}
	return false;
}

static void note(struct execsig *r, uint32_t flag, const char *arg)
{
	if (!(r->flags & (EXECSIG_POOL_URL | EXECSIG_MINER_ARGS | EXECSIG_WALLET)))
		snprintf(r->detail, sizeof(r->detail), "%.*s", 80, arg);
	r->flags |= flag;
}

/* Callers bound argv to PROC_CMDLINE_MAX; longer command lines are cut. */
#define SCAN_MAX 4096

static void scan_args(const char *cmdline, size_t len, struct execsig *r)
{
	char buf[SCAN_MAX + 1];
	const char *end, *s, *next;
	bool user = false;

	/* A NUL-terminated copy: the last argument need not end in a NUL. */
	if (len > SCAN_MAX)
		len = SCAN_MAX;
	memcpy(buf, cmdline, len);
	buf[len] = '\0';
	end = buf + len;
	for (s = buf; s < end; s += strlen(s) + 1)
		if (!strcmp(s, "-u") || !strcmp(s, "--user"))
			user = true;
	for (s = buf; s < end; s = next) {
		size_t n = strlen(s);

		next = s + n + 1;
		if (strcasestr(s, "stratum+tcp://") || strcasestr(s, "stratum+ssl://") ||
		    strcasestr(s, "stratum+tcps://") || strcasestr(s, "stratum2+tcp://") ||
		    strcasestr(s, "stratum1+tcp://"))
			note(r, EXECSIG_POOL_URL, s);
		if (prefixed(s, "--donate-level") || prefixed(s, "--cpu-max-threads-hint") ||
		    prefixed(s, "--randomx-") || !strcmp(s, "--coin") || prefixed(s, "--coin=") ||
		    prefixed(s, "--algo=rx") || prefixed(s, "-a=rx"))
			note(r, EXECSIG_MINER_ARGS, s);
		/* -o HOST:PORT and, anywhere, -u USER: how miners take a pool. */
		if ((!strcmp(s, "-o") || !strcmp(s, "--url")) && next < end && user &&
		    strchr(next, ':'))
			note(r, EXECSIG_MINER_ARGS, next);
		{
			/* A wallet may stand alone or after "=" ("--user=4..."). */
			const char *eq = strchr(s, '=');
			const char *w = eq ? eq + 1 : s;

			if (execsig__wallet_shaped(w, n - (size_t)(w - s)))
				note(r, EXECSIG_WALLET, w);
		}
	}
}

void execsig__analyse(const char *exe, const char *comm, const char *cmdline, size_t len,
		      const char *miner_names, struct execsig *r)
{
	const char *base;
	char file[256];
	size_t el, bl;

	memset(r, 0, sizeof(*r));
	exe = exe ? exe : "";
	el = strlen(exe);
	if (prefixed(exe, "/tmp/") || prefixed(exe, "/dev/shm/") || prefixed(exe, "/var/tmp/"))
		r->flags |= EXECSIG_TEMP_PATH;
	if (prefixed(exe, "/memfd:") || prefixed(exe, "memfd:"))
		r->flags |= EXECSIG_MEMFD;
	if (el > 10 && !strcmp(exe + el - 10, " (deleted)"))
		r->flags |= EXECSIG_DELETED;
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	/* "/tmp/xmrig (deleted)": the file name is what comes before the suffix. */
	bl = strlen(base);
	if ((r->flags & EXECSIG_DELETED) && bl >= 10)
		bl -= 10;
	snprintf(file, sizeof(file), "%.*s", (int)bl, base);
	if (name_listed(comm ? comm : "", miner_names)) {
		r->flags |= EXECSIG_MINER_NAME;
		snprintf(r->name, sizeof(r->name), "%s", comm);
	} else if (name_listed(file, miner_names)) {
		r->flags |= EXECSIG_MINER_NAME;
		snprintf(r->name, sizeof(r->name), "%s", file);
	}
	if (cmdline && len)
		scan_args(cmdline, len, r);
}
