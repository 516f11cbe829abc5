// SPDX-License-Identifier: Apache-2.0
/*
 * The DNS query-name parser (dns__query_name) on arbitrary bytes, with the
 * daemon's output size (on_dns in user/daemon/events.c) and tight ones.
 */
#include <ctype.h>

#include "dns.h"
#include "fuzz_util.h"

static void check_name(const uint8_t *buf, size_t size, size_t outsz)
{
	char *out = malloc(outsz ? outsz : 1);
	int r;

	if (!out)
		abort();
	memset(out, 0x5a, outsz ? outsz : 1);
	r = dns__query_name(buf, size, out, outsz);
	FZ_CHECK(r == 0 || r == 1, "dns__query_name returns 0 or 1");
	if (r) {
		FZ_CHECK(outsz > 1 && fz_terminated(out, outsz), "name is NUL-terminated");
		FZ_CHECK(out[0] && out[0] != '.', "a name does not start with a dot");
		for (const char *p = out; *p; p++)
			FZ_CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
					 *p == '-' || *p == '_' || *p == '.',
				 "name holds only lower-case label characters and dots");
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = fz_dup(data, size);

	check_name(buf, size, 256);
	check_name(buf, size, 0);
	check_name(buf, size, 2);
	check_name(buf, size, 12);
	free(buf);
	return 0;
}
