/* libdeepfp.so for deep.c: eight levels WITH frame pointers, then back into the executable. */
#include <string.h>

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

typedef int (*leaf_fn)(int, int);

#define LEVEL(name, next)                                              \
	__attribute__((noinline)) int name(leaf_fn leaf, int op, int k)\
	{                                                              \
		char buf[256];                                         \
		memset(buf, k, sizeof buf);                            \
		ESCAPE(buf);                                           \
		int r = next(leaf, op, k + 1);                         \
		ESCAPE(buf);                                           \
		return r + buf[k & 255];                               \
	}

__attribute__((noinline)) int f_bottom(leaf_fn leaf, int op, int k)
{
	int r = leaf(op, k);

	ESCAPE(&r);
	return r + 1;
}

LEVEL(f08, f_bottom) LEVEL(f07, f08) LEVEL(f06, f07) LEVEL(f05, f06) LEVEL(f04, f05) LEVEL(f03, f04)
LEVEL(f02, f03) LEVEL(f01, f02)

int fp_enter(leaf_fn leaf, int op, int k)
{
	int r = f01(leaf, op, k);

	ESCAPE(&r);
	return r + 1;
}
