// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static enum log_level current = LOG_LVL_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void log__set_level(enum log_level level)
{
	current = level;
}

enum log_level log__level(void)
{
	return current;
}

const char *log__level_name(enum log_level level)
{
	return level <= LOG_LVL_DEBUG ? names[level] : "?";
}

int log__parse_level(const char *name, enum log_level *ret_level)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*ret_level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log__msg(enum log_level level, const char *fmt, ...)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > current)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ minerwatchd %s: ", stamp, ts.tv_nsec / 1000000,
		log__level_name(level));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
