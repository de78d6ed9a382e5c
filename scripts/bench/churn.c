/*
 * Thread churn: threads created and exiting all the time.
 *
 *   churn WORKERS CHILD_US
 *
 * After a go line on stdin, each of WORKERS threads loops: create a thread
 * that sleeps CHILD_US microseconds and exits, join it. At EOF on stdin it
 * prints "threads N seconds S" (threads created since go) and exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

static long child_us;
static atomic_long created;
static atomic_int go;

static void *child(void *arg)
{
	struct timespec ts = { child_us / 1000000, (child_us % 1000000) * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	return NULL;
}

static void *worker(void *arg)
{
	pthread_attr_t attr;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	while (!atomic_load(&go))
		usleep(1000);
	for (;;) {
		pthread_t t;

		if (pthread_create(&t, &attr, child, NULL)) {
			usleep(1000);
			continue;
		}
		pthread_join(t, NULL);
		atomic_fetch_add_explicit(&created, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int workers = argc > 1 ? atoi(argv[1]) : 4;
	char line[64];
	double t0;

	child_us = argc > 2 ? atol(argv[2]) : 500;
	if (workers < 1 || child_us < 0) {
		fprintf(stderr, "usage: churn WORKERS CHILD_US\n");
		return 2;
	}
	for (int i = 0; i < workers; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, NULL))
			return 1;
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now_s();
	atomic_store(&go, 1);
	while (fgets(line, sizeof(line), stdin))
		;
	printf("threads %ld seconds %.3f\n", atomic_load(&created), now_s() - t0);
	fflush(stdout);
	_exit(0);
}
