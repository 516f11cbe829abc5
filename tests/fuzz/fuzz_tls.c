// SPDX-License-Identifier: Apache-2.0
/*
 * The TLS ClientHello SNI parser (tls__sni) on arbitrary bytes, with the
 * output size the connection table uses and with tight ones, so that every
 * length in the record is checked against what was captured and the name
 * against the room it is copied into.
 */
#include <ctype.h>

#include "conn_table.h"
#include "fuzz_util.h"
#include "tls.h"

static void check_sni(const uint8_t *buf, size_t size, size_t outsz)
{
	char *out = malloc(outsz ? outsz : 1);
	int r;

	if (!out)
		abort();
	memset(out, 0x5a, outsz ? outsz : 1);
	r = tls__sni(buf, size, out, outsz);
	FZ_CHECK(r == 0 || r == 1, "tls__sni returns 0 or 1");
	if (r) {
		FZ_CHECK(outsz > 0 && fz_terminated(out, outsz), "SNI is NUL-terminated");
		FZ_CHECK(out[0], "a found SNI is not empty");
		for (const char *p = out; *p; p++)
			FZ_CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
					 *p == '-' || *p == '.' || *p == '_',
				 "SNI holds only lower-case host-name characters");
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = fz_dup(data, size);

	check_sni(buf, size, CONN_SNI_MAX);
	check_sni(buf, size, 0);
	check_sni(buf, size, 1);
	check_sni(buf, size, 10);
	free(buf);
	return 0;
}
