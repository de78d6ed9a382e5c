/* libdeep.so for deep.c: twelve levels without frame pointers, then a nanosleep. */
#include <string.h>
#include <time.h>

#include "deep_levels.h"

__attribute__((noinline)) int l_bottom(int op, int k)
{
	struct timespec ts = { 0, 10 * 1000000L };

	nanosleep(&ts, NULL);
	return op + k;
}

LEVEL(l12, l_bottom) LEVEL(l11, l12) LEVEL(l10, l11) LEVEL(l09, l10) LEVEL(l08, l09) LEVEL(l07, l08)
LEVEL(l06, l07) LEVEL(l05, l06) LEVEL(l04, l05) LEVEL(l03, l04) LEVEL(l02, l03) LEVEL(l01, l02)

int lib_enter(int op, int k)
{
	int r = l01(op, k);

	ESCAPE(&r);
	return r + 1;
}
