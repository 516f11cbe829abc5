/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd readiness notification (sd_notify protocol: one datagram to
 * $NOTIFY_SOCKET). Written here rather than linking libsystemd so the
 * daemon also runs, unchanged, in a container without systemd.
 */
#ifndef MW_NOTIFY_H
#define MW_NOTIFY_H

/* Returns 0 when sent or when not under systemd, -errno on failure. */
int notify__send(const char *state);
/* Seconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), 0 when none is asked for. */
unsigned int notify__watchdog_interval(void);

#endif
