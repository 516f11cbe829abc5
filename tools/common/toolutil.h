/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toolutil - what every minerwatch test tool needs besides the network:
 * messages on stderr, clocks, stopping on SIGTERM/SIGINT and option parsing.
 *
 * Each tool defines tool_name (the "NAME: " prefix of its stderr lines).
 *
 * A tool stops on a signal in one of two ways:
 *
 *  - ppoll mode (stop_signals_init()): SIGINT/SIGTERM stay blocked except
 *    inside poll_wait()/wait_fd(), whose ppoll() lets them in, so a stop
 *    can never slip in between checking stop_signal and going to sleep.
 *  - thread mode (stop_signals_block()): they stay blocked in every thread
 *    and the main thread takes them in wait_stop_until(); worker threads
 *    are told with stop_threads() and poll stopping(). wait_fd() then
 *    sleeps at most STOP_SLICE_MS at a time, so that its callers notice.
 */
#ifndef TOOLUTIL_H
#define TOOLUTIL_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL
#define STOP_SLICE_MS	100

/* Defined by each tool. */
extern const char tool_name[];

/* --quiet: logmsg() prints nothing. */
extern bool tool_quiet;

/* The signal that asked a ppoll-mode tool to stop, 0 until then. */
extern volatile sig_atomic_t stop_signal;

/* "NAME: message" on stderr, then exit status 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* "NAME: message" on stderr unless tool_quiet; whole lines even from several threads. */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "stopping on signal N", if a signal is why the tool is ending. */
void log_stop_signal(void);

int64_t mono_ns(void);
double now_mono(void);
int64_t realtime_ns(void);

void stop_signals_init(bool ignore_sigpipe);
/*
 * ppoll() on @pfds for at most @secs (negative counts as 0). Returns what
 * ppoll() returns, -1 only when a signal interrupted it; other errors die.
 */
int poll_wait(struct pollfd *pfds, nfds_t nfds, double secs);
/* Waits for @events on @fd (or just sleeps if fd < 0); returns revents, 0 on timeout. */
int wait_fd(int fd, short events, double secs);
/*
 * Paces a loop to one round every @interval seconds. Before *@next it sleeps
 * until then (or @deadline, or a signal) and returns false; from *@next on it
 * returns true and moves *@next one interval on, or one interval past now if
 * rounds were missed.
 */
bool interval_due(double *next, double interval, double deadline);

void stop_signals_block(bool ignore_sigpipe);
/* Thread mode: returns at @deadline (mono_ns()) or on SIGINT/SIGTERM. */
void wait_stop_until(int64_t deadline);
void stop_threads(void);
bool stopping(void);

/* Option values; each dies with "invalid NAME 'VALUE' (...)" when out of range. */
double parse_double(const char *name, const char *s, double min, double max);
/* As parse_double(), the message saying "seconds". */
double parse_seconds(const char *name, const char *s, double min, double max);
unsigned int parse_uint(const char *name, const char *s, unsigned int min, unsigned int max);
/* 0..65535; the message is just "invalid NAME 'VALUE'". */
unsigned int parse_port(const char *name, const char *s);
/* After getopt_long(): an argument left over is a usage error (exit 1). */
void no_extra_args(int argc, char **argv, void (*usage)(FILE *f));

/* "pid=<pid>" on stdout, flushed: the first line of every client tool. */
void print_pid(void);

/* NAME in the directory this tool's own executable is in (malloc'd). */
char *sibling_path(const char *name);

#endif
