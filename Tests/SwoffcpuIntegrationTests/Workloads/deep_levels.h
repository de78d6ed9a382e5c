/* The levels of the deep unwinding workloads (deep.c, deeplib.c): each holds a 256-byte local
 * buffer the compiler cannot drop, so a thread waits several KB of stack above its entry. */
#ifndef SWOFFCPU_DEEP_LEVELS_H
#define SWOFFCPU_DEEP_LEVELS_H

#include <string.h>

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

#define LEVEL(name, next)                                      \
	__attribute__((noinline)) int name(int op, int k)      \
	{                                                      \
		char buf[256];                                 \
		memset(buf, k, sizeof buf);                    \
		ESCAPE(buf);                                   \
		int r = next(op, k + 1);                       \
		ESCAPE(buf);                                   \
		return r + buf[k & 255];                       \
	}

#endif
