/*
 * pinned: three CPU-bound threads, "pin0".."pin2", all pinned to CPU 0
 * (-n changes the count). Each can get at most 1/N of CPU 0, so it spends
 * at least (N-1)/N of the window runnable (on CPU 0's run queue).
 */
#include "workload.h"
#include <sched.h>

static void *pinned(void *arg)
{
	char name[16];
	cpu_set_t set;
	volatile unsigned long x = 0;
	int err;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err) {
		errno = err;
		wl_die("pthread_setaffinity_np");
	}
	snprintf(name, sizeof(name), "pin%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;)
		x++;
	return NULL;
}

int main(int argc, char **argv)
{
	wl_count = 3;
	wl_parse(argc, argv);
	for (int i = 0; i < wl_count; i++)
		wl_spawn(pinned, (void *)(intptr_t)i);
	return wl_main_loop(wl_count);
}
