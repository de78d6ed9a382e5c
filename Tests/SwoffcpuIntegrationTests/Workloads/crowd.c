/*
 * crowd: a process of many threads (-n, default 100): the first "spin" (a CPU loop), then
 * odd ones "parker" (pause(), never runs again), even ones "napper" (nanosleep 5 ms, again). Moved into a cgroup as a
 * whole, it needs more task-storage records at once than a CPU's allocator cache holds.
 */
#include "workload.h"

static void *napper(void *arg)
{
	struct timespec ts = { 0, 5000000 };

	(void)arg;
	wl_thread_ready("napper");
	for (;;)
		nanosleep(&ts, NULL);
	return NULL;
}

static void *parker(void *arg)
{
	(void)arg;
	wl_thread_ready("parker");
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	wl_count = 100;
	wl_parse(argc, argv);
	for (int i = 0; i < wl_count; i++)
		wl_spawn(i == 0 ? wl_spin : i % 2 ? parker : napper, NULL);
	return wl_main_loop(wl_count);
}
