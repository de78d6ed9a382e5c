/*
 * A lock convoy: "convoy-a" and "convoy-b" each take one mutex, hold it for 100 us of
 * CPU, release it and take it again at once (after 5 us of work outside it). Each spends
 * its waits on the mutex, released by the other: in the wait-for graph they wait on each
 * other (one knot of two threads, the mutex at its bottom).
 *
 * Each thread is pinned to a CPU of its own (with two or more): on one CPU the woken
 * thread would wait in the run queue behind the holder, runnable rather than blocked. And
 * each runs at nice -20 where it may (root), so that a busy machine's other work does not
 * turn their waits for each other into waits for a CPU.
 */
#include "workload.h"
#include <sched.h>
#include <sys/resource.h>

static pthread_mutex_t convoy_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	const char *name = arg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus >= 2) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(name[7] == 'a' ? 0 : 1, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	setpriority(PRIO_PROCESS, 0, -20); /* best effort: fails without privilege */
	wl_thread_ready(name);
	for (;;) {
		pthread_mutex_lock(&convoy_lock);
		wl_burn_cpu_ns(100000);
		pthread_mutex_unlock(&convoy_lock);
		wl_burn_cpu_ns(5000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	wl_spawn(worker, "convoy-a");
	wl_spawn(worker, "convoy-b");
	return wl_main_loop(2);
}
