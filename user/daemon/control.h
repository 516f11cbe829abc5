/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local control socket the CLI talks to. One request line per connection
 * ({"cmd":"status"}), one JSON reply line, then close. Requests, replies,
 * clients and time are all bounded; peers must be root or in the minerwatch
 * group. There is no network listener.
 */
#ifndef MW_CONTROL_H
#define MW_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define CONTROL_GROUP "minerwatch"
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_CLIENTS 16
#define CONTROL_TIMEOUT_MS 2000

/* Returns a malloc'd JSON reply for a command, or NULL for unknown commands. */
typedef char *(*control_handler)(const char *cmd, void *arg);

struct control;

int control__open(const char *path, control_handler fn, void *arg, struct control **ret,
		  char *err, size_t errsz);
void control__close(struct control *c);
/* A pollable fd: readable when control__process has work. */
int control__fd(const struct control *c);
void control__process(struct control *c);
/* Closes clients past their deadline. */
void control__expire(struct control *c);
uint64_t control__refused(const struct control *c);
/*
 * The reply to one request line (NUL-terminated, newline removed): what fn
 * answers for {"cmd":"NAME"}, else an {"error":...} object. Malloc'd; NULL
 * only when out of memory. Pure apart from fn: the socket code sends it.
 */
char *control__answer(const char *request, control_handler fn, void *arg);

#endif
