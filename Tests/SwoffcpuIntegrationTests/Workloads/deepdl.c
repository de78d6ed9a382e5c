/*
 * deepdl: a library loaded during the trace (docs/unwinding.md). Built by the tests
 * (DeepWorkload.swift) with -O2 -fomit-frame-pointer, not linked with libdeep.so:
 *   "dl"  waits for the file PATH.go to exist (the test creates it once the trace
 *         runs), then dlopen()s -f PATH (libdeep.so) and loops
 *         d01..d06 -> lib_enter -> l01..l12 -> nanosleep(10 ms)
 */
#include "workload.h" /* first: it defines _GNU_SOURCE (gettid, pthread_setname_np) */
#include <dlfcn.h>
#include "deep_levels.h"

static int (*lib_enter)(int, int);

__attribute__((noinline)) int d_bottom(int op, int k)
{
	int r = lib_enter(op, k);

	ESCAPE(&r);
	return r + 1;
}

LEVEL(d06, d_bottom) LEVEL(d05, d06) LEVEL(d04, d05) LEVEL(d03, d04) LEVEL(d02, d03) LEVEL(d01, d02)

static volatile int sink;

static void *dl_entry(void *arg)
{
	struct timespec ts = { 0, 10 * 1000000L };
	char go[4096];
	void *h;

	(void)arg;
	snprintf(go, sizeof go, "%s.go", wl_path);
	wl_thread_ready("dl");
	while (access(go, F_OK))
		nanosleep(&ts, NULL);
	h = dlopen(wl_path, RTLD_NOW);
	if (!h || !(lib_enter = (int (*)(int, int))dlsym(h, "lib_enter"))) {
		fprintf(stderr, "deepdl: %s\n", dlerror());
		exit(2);
	}
	for (;;)
		sink += d01(3, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	if (!wl_path)
		wl_die("-f LIBRARY");
	wl_spawn(dl_entry, NULL);
	return wl_main_loop(1);
}
