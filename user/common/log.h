/* SPDX-License-Identifier: Apache-2.0 */
/* Diagnostics to stderr, never to the findings stream. */
#ifndef MW_LOG_H
#define MW_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log__set_level(enum log_level level);
enum log_level log__level(void);
int log__parse_level(const char *name, enum log_level *ret_level);
const char *log__level_name(enum log_level level);
void log__msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log__msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log__msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log__msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log__msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
