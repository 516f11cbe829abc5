// SPDX-License-Identifier: Apache-2.0
/*
 * Ring-buffer records (bpf/minerwatch.h) of any type, size and content into
 * the daemon's own handler, mwd__handle_event, over real process and
 * connection tables and a real detector (see fuzz_mwd.h). Every record must
 * be rejected (counted in bad_records) or handled, without reading past its
 * end: each gets a heap buffer of exactly its size, 8-byte aligned as libbpf
 * hands records over. CPU sample map values (struct mw_cpu) go through the
 * tick's crediting code, and detector ticks judge what the records built.
 * The input format is fz_replay_records() in fuzz_mwd.h.
 */
#include "fuzz_mwd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__set_level(LOG_LVL_ERROR);
	fz_load_lists();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mwd *m = fz_mwd_new(NULL);
	uint64_t records = fz_replay_records(m, data, size);

	FZ_CHECK(fz_records_counted(m) == records,
		 "every record is either handled or counted as bad");
	FZ_CHECK(proc_table__count(m->procs) <= FZ_MAX_PROCS, "process table stays bounded");
	FZ_CHECK(conn_table__count(m->conns) <= FZ_MAX_CONNS, "connection table stays bounded");
	fz_mwd_free(m);
	return 0;
}
