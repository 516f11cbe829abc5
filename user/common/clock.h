/* SPDX-License-Identifier: Apache-2.0 */
/* Milliseconds on a clock: CLOCK_MONOTONIC for intervals, CLOCK_REALTIME for timestamps. */
#ifndef MW_CLOCK_H
#define MW_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock__ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
