// SPDX-License-Identifier: Apache-2.0
/*
 * The one setter every option goes through (config__set), on arbitrary
 * key/value pairs as command-line flags bring them: nothing trimmed, any
 * bytes. Input: lines "KEY=VALUE", applied in order to one configuration.
 * Each accepted value must leave a configuration in range; each rejected
 * one must say why and leave the others alone.
 */
#include <errno.h>

#include "fuzz_config_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__set_level(LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_strdup(data, size), *line = text, *next;
	struct config c, before;
	char err[384];

	config__defaults(&c);
	fz_check_config(&c);
	for (; line; line = next) {
		char *eq;
		int r;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		before = c;
		memset(err, 0, sizeof(err));
		r = config__set(&c, line, eq + 1, err, sizeof(err));
		if (r == 0) {
			fz_check_config(&c);
			continue;
		}
		FZ_CHECK(r == -EINVAL, "a rejected setting is -EINVAL");
		FZ_CHECK(err[0] && fz_terminated(err, sizeof(err)), "a rejection says why");
		/* A bad pool_names_file still marks the option as named: compare the rest. */
		before.pool_names_file_set = c.pool_names_file_set;
		before.suppress_file_set = c.suppress_file_set;
		FZ_CHECK(!memcmp(&before, &c, sizeof(c)), "a rejected setting changes nothing");
	}
	free(text);
	return 0;
}
