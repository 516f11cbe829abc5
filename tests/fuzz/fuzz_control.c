// SPDX-License-Identifier: Apache-2.0
/*
 * Control-socket requests: the bytes a client sends, framed as the socket
 * code frames them (up to the first newline, at most CONTROL_MAX_REQUEST - 1
 * bytes, NUL-terminated), into control__answer with the daemon's own
 * handler, mwd__control, over a stand-in daemon (fuzz_mwd.h) that holds an
 * open finding. Every reply must be one line of JSON: the answer for
 * {"cmd":"status"|"findings"|"version"}, an {"error":...} object otherwise.
 */
#include <json-c/json.h>

#include "control.h"
#include "fuzz_mwd.h"
#include "minerwatch.h"

static struct mwd *m;

/* A miner that logs in to a Stratum pool: an open finding for status to show. */
static void populate(struct mwd *d)
{
	static const char login[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":"
				    "[\"cpuminer/2.5.1\"]}\n";
	static const char args[] = "./xmrig\0-o\0stratum+tcp://pool.test:3333";
	struct mw_exec_event ex = { 0 };
	struct mw_payload_event pe = { 0 };
	uint64_t now = mwd__boot_ns();

	ex.hdr.type = MW_EV_EXEC;
	ex.hdr.pid = 4242;
	ex.hdr.ts_ns = now;
	ex.ppid = 1;
	ex.start_ns = now - 1000000000ULL;
	ex.args_len = sizeof(args);
	memcpy(ex.comm, "xmrig", 6);
	memcpy(ex.filename, "/tmp/xmrig", 11);
	memcpy(ex.args, args, sizeof(args));
	fz_record(d, &ex, sizeof(ex));

	pe.hdr.type = MW_EV_PAYLOAD;
	pe.hdr.pid = 4242;
	pe.hdr.ts_ns = now;
	pe.cookie = 77;
	pe.dir = MW_DIR_OUT;
	pe.family = 2;
	pe.dport = 3333;
	pe.daddr[0] = 127;
	pe.daddr[3] = 1;
	pe.connect_ns = now;
	pe.len = pe.seg_len = sizeof(login) - 1;
	memcpy(pe.data, login, sizeof(login) - 1);
	fz_record(d, &pe, sizeof(pe));
	detector__tick(d->det, now + 1000000000ULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__set_level(LOG_LVL_ERROR);
	fz_load_lists();
	m = fz_mwd_new(NULL);
	populate(m);
	return 0;
}

/* The command a well-formed request names, or NULL. */
static const char *command(const char *req, json_object **ret)
{
	json_object *o = json_tokener_parse(req), *cmd;

	*ret = o;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string))
		return NULL;
	return json_object_get_string(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) : size;
	json_object *req, *rep, *err;
	const char *cmd;
	char *line, *out;
	bool known;

	if (len > CONTROL_MAX_REQUEST - 1)
		len = CONTROL_MAX_REQUEST - 1;
	line = fz_strdup(data, len);
	out = control__answer(line, mwd__control, m);
	FZ_CHECK(out != NULL, "every request gets a reply");
	FZ_CHECK(!strchr(out, '\n'), "a reply is one line");
	rep = json_tokener_parse(out);
	FZ_CHECK(rep && json_object_is_type(rep, json_type_object), "a reply is a JSON object");
	cmd = command(line, &req);
	known = cmd && (!strcmp(cmd, "status") || !strcmp(cmd, "findings") ||
			!strcmp(cmd, "version"));
	FZ_CHECK(known != json_object_object_get_ex(rep, "error", &err),
		 "known commands are answered, anything else is an error");
	json_object_put(req);
	json_object_put(rep);
	free(out);
	free(line);
	return 0;
}
