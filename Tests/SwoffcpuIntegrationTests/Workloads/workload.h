/*
 * Shared scaffolding of the integration-test workloads (one .c file each).
 *
 * Protocol with the test (Tests/SwoffcpuIntegrationTests/Workload.swift):
 *   - every worker thread names itself (pthread_setname_np) and calls
 *     wl_thread_ready() just before it enters its steady behaviour;
 *   - once all workers have checked in, the main thread prints one line
 *     `tid NAME TID` per thread (its own included, named "wl-main") and then
 *     `ready`, and flushes stdout;
 *   - the main thread then parks in poll() on stdin (an interruptible sleep)
 *     and exits the whole process (exit_group) when stdin reaches EOF (the test
 *     closes it, or dies), or after `-d SECONDS` if given. The test normally
 *     SIGKILLs the workload and reaps it.
 *
 * Built by the tests with: cc -O1 -g -fno-omit-frame-pointer -pthread -I<this dir>
 */
#ifndef SWOFFCPU_WORKLOAD_H
#define SWOFFCPU_WORKLOAD_H

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Threads listed by `tid` lines: every thread of the workloads the tests run. Threads check in
 * in the order they first run, not the order they were made: a cap below the thread count
 * left crowd's spinner (made first, scheduled late on a busy machine) unlisted. */
#define WL_MAX_THREADS 1024

static pthread_mutex_t wl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wl_cond = PTHREAD_COND_INITIALIZER;
static int wl_checked_in;
static struct {
	char name[16];
	pid_t tid;
} wl_threads[WL_MAX_THREADS];

/* Options every workload understands. */
static double wl_duration = 0;   /* -d SECONDS: exit after this long (0: only on stdin EOF) */
static int wl_count = 0;         /* -n N: workload-specific count (threads) */
static const char *wl_path = 0;  /* -f PATH: workload-specific file */

static void wl_die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void wl_parse(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "d:n:f:")) != -1) {
		switch (c) {
		case 'd': wl_duration = atof(optarg); break;
		case 'n': wl_count = atoi(optarg); break;
		case 'f': wl_path = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-d seconds] [-n count] [-f path]\n", argv[0]);
			exit(2);
		}
	}
}

static void wl_register(const char *name)
{
	pthread_mutex_lock(&wl_lock);
	if (wl_checked_in < WL_MAX_THREADS) {
		snprintf(wl_threads[wl_checked_in].name, sizeof(wl_threads[0].name), "%s", name);
		wl_threads[wl_checked_in].tid = gettid();
	}
	wl_checked_in++;
	pthread_cond_broadcast(&wl_cond);
	pthread_mutex_unlock(&wl_lock);
}

/* A worker: name the calling thread and check in. Call right before the steady behaviour. */
static void wl_thread_ready(const char *name)
{
	int err = pthread_setname_np(pthread_self(), name);

	if (err) {
		errno = err;
		wl_die("pthread_setname_np");
	}
	wl_register(name);
}

static void wl_spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, fn, arg);

	if (err) {
		errno = err;
		wl_die("pthread_create");
	}
	pthread_detach(t);
}

/*
 * Main thread: wait for `workers` check-ins, print the TIDs and `ready`, then
 * park until stdin EOF or the -d duration; returns the exit status for main.
 */
static int wl_main_loop(int workers)
{
	wl_thread_ready("wl-main");
	pthread_mutex_lock(&wl_lock);
	while (wl_checked_in < workers + 1)
		pthread_cond_wait(&wl_cond, &wl_lock);
	for (int i = 0; i < wl_checked_in && i < WL_MAX_THREADS; i++)
		printf("tid %s %d\n", wl_threads[i].name, (int)wl_threads[i].tid);
	pthread_mutex_unlock(&wl_lock);
	printf("ready\n");
	fflush(stdout);

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int timeout = -1;
		if (wl_duration > 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			double left = wl_duration - ((double)(now.tv_sec - start.tv_sec) +
						     (double)(now.tv_nsec - start.tv_nsec) / 1e9);
			if (left <= 0)
				return 0;
			timeout = (int)(left * 1000) + 1;
		}
		struct pollfd p = { .fd = 0, .events = POLLIN };
		int n = poll(&p, 1, timeout);
		if (n < 0 && errno != EINTR)
			wl_die("poll");
		if (n > 0) {
			char buf[64];
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0)
				return 0; /* EOF: the test is done with us (or gone) */
		}
	}
}

static inline uint64_t wl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A thread in a pure CPU loop, no system calls, named "spin" (spinner, crowd). */
static inline void *wl_spin(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	wl_thread_ready("spin");
	for (;;)
		x++;
	return NULL;
}

/* Burn CPU for `ns` of wall-clock time without any system call (vDSO clock). */
static inline void wl_burn_ns(uint64_t ns)
{
	uint64_t end = wl_now_ns() + ns;
	volatile unsigned long x = 0;

	while (wl_now_ns() < end)
		for (int i = 0; i < 64; i++)
			x++;
}

/* Burn `ns` of this thread's own CPU time (CLOCK_THREAD_CPUTIME_ID): work whose on-CPU time is
 * known by construction, however long the thread waits for a CPU meanwhile. */
static inline void wl_burn_cpu_ns(uint64_t ns)
{
	struct timespec ts;
	uint64_t end;
	volatile unsigned long x = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	end = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ns;
	for (;;) {
		for (int i = 0; i < 256; i++)
			x++;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		if ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec >= end)
			break;
	}
}

#endif /* SWOFFCPU_WORKLOAD_H */
