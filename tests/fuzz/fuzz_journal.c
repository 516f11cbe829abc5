// SPDX-License-Identifier: Apache-2.0
/*
 * The findings journal a restart reads from the state directory
 * (journal__parse) and the Close made from a journalled record
 * (finding__closed): a torn, foreign or hostile file must be refused or read
 * whole, never half. What parses must serialise and parse back to the same
 * counts, and a Close, when one is made, must be one JSON object.
 */
#include <json-c/json.h>

#include "finding.h"
#include "fuzz_util.h"
#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct journal j, back;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (journal__parse(text, &j, err, sizeof(err)) == 0) {
		char *again = journal__text(&j);

		FZ_CHECK(again, "a parsed journal serialises");
		FZ_CHECK(journal__parse(again, &back, err, sizeof(err)) == 0,
			 "a serialised journal parses back");
		FZ_CHECK(back.nopen == j.nopen && back.npending == j.npending,
			 "the round trip keeps every entry");
		for (size_t i = 0; i < j.nopen; i++) {
			char *closed = finding__closed(j.open[i].line, 1718000000000ULL);

			FZ_CHECK(!strcmp(back.open[i].line, j.open[i].line), "lines survive");
			if (closed) {
				json_object *o = json_tokener_parse(closed);

				FZ_CHECK(o && json_object_is_type(o, json_type_object),
					 "a Close is a JSON object");
				FZ_CHECK(!strchr(closed, '\n'), "a Close is one line");
				json_object_put(o);
				free(closed);
			}
		}
		journal__free(&back);
		journal__free(&j);
		free(again);
	} else {
		FZ_CHECK(err[0], "a refused journal says why");
	}
	free(text);
	return 0;
}
