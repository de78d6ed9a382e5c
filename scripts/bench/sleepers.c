/*
 * Many threads that sleep and wake: the thread-count scale target.
 *
 *   sleepers NTHREADS MIN_MS MAX_MS
 *
 * Creates NTHREADS threads (64 KiB stacks), prints "ready PID" once all exist
 * (blocked on a condition variable), and at a go line on stdin lets each loop
 * on nanosleep of a random MIN_MS..MAX_MS. Keep NTHREADS / mean sleep within
 * what the machine can do: 10,000 threads sleeping 10-50 ms want 333,000
 * wakeups a second, more than 2 vCPUs can give (the creating thread then
 * starves). At EOF on stdin it prints "wakeups N seconds S" and exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

static int min_ms, max_ms;
static atomic_long wakeups;
static atomic_int started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;

static void *sleeper(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 2654435761u;

	pthread_mutex_lock(&mu);
	atomic_fetch_add(&started, 1);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	/* spread the first wakeups over one sleep */
	{
		long us = rand_r(&seed) % (max_ms * 1000 + 1);
		struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

		nanosleep(&ts, NULL);
	}
	for (;;) {
		long ms = min_ms + rand_r(&seed) % (max_ms - min_ms + 1);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		atomic_fetch_add_explicit(&wakeups, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	pthread_attr_t attr;
	char line[64];
	double t0;

	min_ms = argc > 2 ? atoi(argv[2]) : 10;
	max_ms = argc > 3 ? atoi(argv[3]) : 50;
	if (n < 1 || min_ms < 0 || max_ms < min_ms || max_ms < 1) {
		fprintf(stderr, "usage: sleepers NTHREADS MIN_MS MAX_MS\n");
		return 2;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, sleeper, (void *)(i + 1))) {
			fprintf(stderr, "sleepers: pthread_create failed after %ld threads\n", i);
			return 1;
		}
	}
	while (atomic_load(&started) < n)
		usleep(1000);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now_s();
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	while (fgets(line, sizeof(line), stdin))
		;
	printf("wakeups %ld seconds %.3f\n", atomic_load(&wakeups), now_s() - t0);
	fflush(stdout);
	_exit(0);
}
