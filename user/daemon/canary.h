/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The self-check's canary events and its rounds (see selfcheck.h for why).
 *
 * Every SELFCHECK_INTERVAL_S a round starts on the daemon's tick:
 *   - exec, exit: a child spawned from /proc/self/exe with CANARY_ARG, which
 *     main() answers by exiting at once (the only thing the daemon ever
 *     runs; the hooks know it as the daemon's child);
 *   - connect4/6, skb egress/ingress, sock_close: a non-blocking TCP connect
 *     on 127.0.0.1 and ::1 to a port the daemon holds bound but does not
 *     listen on, so the SYN is answered by an RST and nothing is accepted;
 *     closing the socket at the end of the round destroys it;
 *   - sendmsg4/6: an empty UDP datagram sent to the socket's own address;
 *   - cpu_sample: the per-CPU count of sampler runs, idle included.
 * It is judged on a later tick once its events have certainly happened
 * (child reaped, RST received), together with the state of every link.
 * Nothing leaves loopback and nothing listens.
 */
#ifndef MW_CANARY_H
#define MW_CANARY_H

#include <stdint.h>

/* The argument that makes minerwatchd a canary: exit 0 before anything else. */
#define CANARY_ARG "--self-check-canary"

struct mwd;
struct canary;

struct canary *canary__new(void);
/* Ends a round in progress: kills and reaps the child, closes the sockets. */
void canary__free(struct canary *c);
/* From the 1 s tick: starts a round when due, judges one that has completed. */
void canary__tick(struct canary *c, struct mwd *m, uint64_t now_ns);

#endif
