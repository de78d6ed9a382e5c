/*
 * Load: many threads keeping every CPU busy and switching as fast as it can.
 *
 *   load THREADS WORK
 *
 * THREADS threads (64 KiB stacks) in pairs; the two threads of a pair pass a
 * turn back and forth through a futex: run WORK iterations of a busy loop (a
 * work unit), hand the turn to the partner (FUTEX_WAKE), wait for it to come
 * back (FUTEX_WAIT). One thread of each pair is runnable at any time, so with
 * THREADS/2 pairs the run queues never empty, and every unit ends with a
 * voluntary switch and a wakeup: the tracer sees a switch-out, a futex wait
 * and its end, and a switch-in per unit.
 *
 * Prints "ready PID" once every thread exists and is parked. Then, one command
 * a line on stdin: "go" starts the pairs; "report" prints "units N seconds S"
 * (work units done since go, seconds since go); at EOF it prints the same line
 * and exits. The throughput under tracing is units per second against the
 * untraced run's.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

struct slot {
	_Atomic unsigned long units;
	_Atomic int turn; /* per pair, in the pair's first slot: which side runs */
	char pad[64 - sizeof(unsigned long) - sizeof(int)];
} __attribute__((aligned(64)));

static struct slot *slots;
static long work;
static _Atomic int go;
static _Atomic int parked;

static long futex(_Atomic int *uaddr, int op, int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void *thread(void *arg)
{
	long i = (long)arg;
	int side = (int)(i & 1);
	_Atomic int *turn = &slots[i & ~1L].turn;
	_Atomic unsigned long *units = &slots[i].units;

	atomic_fetch_add(&parked, 1);
	while (!atomic_load(&go))
		futex(&go, FUTEX_WAIT_PRIVATE, 0);
	for (;;) {
		int t;

		while ((t = atomic_load_explicit(turn, memory_order_acquire)) != side)
			futex(turn, FUTEX_WAIT_PRIVATE, t);
		for (volatile long k = 0; k < work; k++)
			;
		atomic_store_explicit(units, atomic_load_explicit(units, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		atomic_store_explicit(turn, !side, memory_order_release);
		futex(turn, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

/*
 * Waking every thread takes one thread tens of ms of CPU in one go; under EEVDF a
 * task that ran that far ahead of its fair share stays ineligible until thousands of
 * others catch up (seconds: the main thread, doing it itself, did not answer
 * "report" for over 20 s). So a thread of its own does it, and exits.
 */
static void *starter(void *arg)
{
	(void)arg;
	atomic_store(&go, 1);
	futex(&go, FUTEX_WAKE_PRIVATE, INT_MAX);
	return NULL;
}

static unsigned long total_units(long n)
{
	unsigned long sum = 0;

	for (long i = 0; i < n; i++)
		sum += atomic_load_explicit(&slots[i].units, memory_order_relaxed);
	return sum;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	char line[64];
	pthread_attr_t attr;
	double t0 = 0;

	work = argc > 2 ? atol(argv[2]) : 2000;
	n &= ~1L;
	if (n < 2 || work < 0) {
		fprintf(stderr, "usage: load THREADS WORK\n");
		return 2;
	}
	slots = aligned_alloc(64, n * sizeof(*slots));
	if (!slots)
		return 1;
	memset(slots, 0, n * sizeof(*slots));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		int err = pthread_create(&t, &attr, thread, (void *)i);

		if (err) {
			fprintf(stderr, "load: pthread_create %ld: %s\n", i, strerror(err));
			return 1;
		}
	}
	while (atomic_load(&parked) < n)
		usleep(1000);
	printf("ready %d\n", getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "go", 2) && !t0) {
			pthread_t t;

			t0 = now_s();
			if (pthread_create(&t, &attr, starter, NULL))
				return 1;
			pthread_detach(t);
		} else if (!strncmp(line, "report", 6)) {
			printf("units %lu seconds %.6f\n", total_units(n), t0 ? now_s() - t0 : 0.0);
			fflush(stdout);
		}
	}
	printf("units %lu seconds %.6f\n", total_units(n), t0 ? now_s() - t0 : 0.0);
	fflush(stdout);
	_exit(0);
}
