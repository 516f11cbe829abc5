/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a process's executable and command line say about it: where it runs
 * from, whether it hides its binary, its name, and miner-style arguments.
 * Pure: callers pass what they read from the kernel or procfs.
 */
#ifndef MW_EXECSIG_H
#define MW_EXECSIG_H

#include <stddef.h>
#include <stdint.h>

enum execsig_flag {
	EXECSIG_TEMP_PATH = 1u << 0,    /* /tmp, /dev/shm, /var/tmp */
	EXECSIG_MEMFD = 1u << 1,        /* runs from a memfd */
	EXECSIG_DELETED = 1u << 2,      /* its file was deleted */
	EXECSIG_MINER_NAME = 1u << 3,   /* comm or file name of a known miner */
	EXECSIG_POOL_URL = 1u << 4,     /* stratum+tcp:// and friends */
	EXECSIG_MINER_ARGS = 1u << 5,   /* --donate-level, -o HOST:PORT -u ..., --coin ... */
	EXECSIG_WALLET = 1u << 6,       /* a wallet-shaped argument */
};

struct execsig {
	uint32_t flags;
	char name[32];      /* the miner name that matched */
	char detail[96];    /* the argument that matched, for the explanation */
};

/*
 * exe: the executable path (from exec or /proc/PID/exe, which may end in
 * " (deleted)" or be "/memfd:NAME"); comm; cmdline: NUL-separated argv.
 * miner_names: comma-separated names matched against comm and file name.
 */
void execsig__analyse(const char *exe, const char *comm, const char *cmdline, size_t len,
		      const char *miner_names, struct execsig *ret);

/* True for a Monero, Bitcoin, Ethereum or similar address shape. */
int execsig__wallet_shaped(const char *s, size_t n);

#endif
