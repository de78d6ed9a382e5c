/*
 * Many distinct user stacks: the stack-count scale target.
 *
 *   stacks NSTACKS NTHREADS LEAF_US
 *
 * For each counter c in 0..NSTACKS-1 (split round-robin over NTHREADS
 * threads), recurses 17 levels, choosing f0 or f1 at each level by one bit of
 * c, and sleeps LEAF_US microseconds at the leaf (until it has switched out): up to 2^17 = 131072
 * distinct user stacks, each slept in once. Build with -fno-omit-frame-pointer
 * -fno-optimize-sibling-calls. Prints "ready PID", starts at a go line on
 * stdin, prints "done SECONDS" when every counter is done (the threads then
 * wait on a condition variable), and exits at EOF on stdin.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define LEVELS 17

static long nstacks, nthreads, leaf_us;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go, finished;

/*
 * Sleeps until the thread has really switched out once: a short nanosleep
 * whose timer fires before schedule() (the thread preempted or the vCPU
 * stolen in between) returns without a switch, so the count of voluntary
 * switches is checked and the sleep repeated.
 */
__attribute__((noinline)) void leaf_sleep(void)
{
	struct timespec ts = { 0, leaf_us * 1000 };
	struct rusage before, after;

	getrusage(RUSAGE_THREAD, &before);
	do {
		nanosleep(&ts, NULL);
		getrusage(RUSAGE_THREAD, &after);
	} while (after.ru_nvcsw == before.ru_nvcsw);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void f0(int lvl, unsigned c);
__attribute__((noinline)) void f1(int lvl, unsigned c);

#define BODY                                    \
	if (lvl == 0)                           \
		leaf_sleep();                   \
	else if ((c >> (lvl - 1)) & 1)          \
		f1(lvl - 1, c);                 \
	else                                    \
		f0(lvl - 1, c);                 \
	__asm__ volatile("" ::: "memory");

__attribute__((noinline)) void f0(int lvl, unsigned c) { BODY }
__attribute__((noinline)) void f1(int lvl, unsigned c) { BODY }

static void *walker(void *arg)
{
	long first = (long)arg;

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_mutex_lock(&mu);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (long c = first; c < nstacks; c += nthreads) {
		/* the top level is chosen by bit LEVELS-1 */
		if ((c >> (LEVELS - 1)) & 1)
			f1(LEVELS - 1, (unsigned)c);
		else
			f0(LEVELS - 1, (unsigned)c);
	}
	pthread_mutex_lock(&mu);
	finished++;
	pthread_cond_broadcast(&cv);
	while (go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	char line[64];
	double t0;

	nstacks = argc > 1 ? atol(argv[1]) : 110000;
	nthreads = argc > 2 ? atol(argv[2]) : 4;
	leaf_us = argc > 3 ? atol(argv[3]) : 20;
	if (nstacks < 1 || nstacks > (1L << LEVELS) || nthreads < 1 || leaf_us < 0 || leaf_us > 999999) {
		fprintf(stderr, "usage: stacks NSTACKS(<=131072) NTHREADS LEAF_US\n");
		return 2;
	}
	for (long i = 0; i < nthreads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, walker, (void *)i))
			return 1;
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now_s();
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	while (finished < nthreads)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	printf("done %.3f\n", now_s() - t0);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	_exit(0);
}
