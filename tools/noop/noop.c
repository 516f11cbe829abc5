// SPDX-License-Identifier: GPL-2.0
/*
 * noop - the program the exec storm runs, and the idle process holder keeps.
 *
 *   noop          exit 0 at once
 *   noop pause    sleep until a signal kills it
 *
 * Built static with -nostdlib and its own _start: no dynamic loader, no libc
 * start-up, no relocations, so an exec of it costs what the kernel's exec
 * path costs and little more. That is what a benchmark of exec hooks wants
 * to measure, and it lets the holder keep thousands of these alive for
 * next to nothing (a few pages each).
 *
 * No libc means no syscall() either: the two or three calls it makes are
 * inline assembly, for the architectures minerwatch supports.
 */
#include <asm/unistd.h>

#if defined(__x86_64__)

/* The kernel enters at _start with argc at (%rsp), then argv[], NULL, envp[]. */
__asm__(".text\n"
	".globl _start\n"
	".type _start, @function\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"	/* the outermost frame, for debuggers */
	"	mov %rsp, %rdi\n"	/* noop_main(sp) */
	"	and $-16, %rsp\n"	/* calls need a 16-byte aligned stack */
	"	call noop_main\n"
	"	hlt\n");

static long sys1(long nr, long a0)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Sleeps until a signal arrives; one without a handler kills us first. */
static void wait_signal(void)
{
	sys1(__NR_pause, 0);
}

#elif defined(__aarch64__)

/* sp is already 16-byte aligned at entry; argc at [sp], then argv[], NULL, envp[]. */
__asm__(".text\n"
	".globl _start\n"
	".type _start, %function\n"
	"_start:\n"
	"	mov x29, #0\n"		/* the outermost frame, for debuggers */
	"	mov x30, #0\n"
	"	mov x0, sp\n"		/* noop_main(sp) */
	"	bl noop_main\n"
	"	brk #0\n");

static long sys1(long nr, long a0)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a0;

	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8) : "memory");
	return x0;
}

/*
 * arm64 has no pause(2); ppoll() on no descriptors, with no timeout and no
 * mask change, sleeps the same way until a signal.
 */
static void wait_signal(void)
{
	register long x8 __asm__("x8") = __NR_ppoll;
	register long x0 __asm__("x0") = 0;	/* fds */
	register long x1 __asm__("x1") = 0;	/* nfds */
	register long x2 __asm__("x2") = 0;	/* timeout: none */
	register long x3 __asm__("x3") = 0;	/* sigmask: unchanged */
	register long x4 __asm__("x4") = 0;	/* sigsetsize */

	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
			 : "memory");
}

#else
#error "noop: no start-up code for this architecture (x86_64 and aarch64 only)"
#endif

void noop_main(long *sp) __attribute__((used, noreturn));

/* Open-coded: without libc there is no strcmp(). */
static int is_pause(const char *s)
{
	const char *p = "pause";

	while (*p && *s == *p) {
		s++;
		p++;
	}
	return !*p && !*s;
}

void noop_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);

	/*
	 * pause() returns only after a signal handler has run, and there are
	 * none here: a signal either kills us or is ignored. The loop only
	 * tells the compiler that this never returns.
	 */
	if (argc > 1 && is_pause(argv[1]))
		for (;;)
			wait_signal();
	for (;;)
		sys1(__NR_exit_group, 0);
}
