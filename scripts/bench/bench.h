/* Shared by the benchmark's workloads (compiled one file each by bench.py). */
#ifndef SWOFFCPU_BENCH_H
#define SWOFFCPU_BENCH_H

#include <time.h>

/* CLOCK_MONOTONIC in seconds: the workloads report their own durations with it. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
