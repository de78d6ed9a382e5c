/*
 * Pipe ping-pong between two threads of one process: the context-switch-heavy
 * target of the overhead benchmark (like `perf bench sched pipe -T`, but it
 * waits for a go line so a tracer can attach before the timed loop).
 *
 *   pingpong LOOPS        prints "ready PID", waits for a line on stdin, runs
 *                         LOOPS/10 warm-up round trips, then LOOPS timed ones,
 *                         prints "us_per_op X", and exits at EOF on stdin (so
 *                         a tracer can be stopped while it still lives).
 *
 * A round trip is main -> peer -> main: two context switches when both
 * threads share one CPU (run it under `taskset -c 1`).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int to_peer[2], to_main[2];

static void *peer(void *arg)
{
	char c;

	(void)arg;
	for (;;) {
		if (read(to_peer[0], &c, 1) != 1)
			break;
		if (write(to_main[1], &c, 1) != 1)
			break;
		if (c == 'q')
			break;
	}
	return NULL;
}

static void round_trips(long n)
{
	char c = 'x';

	for (long i = 0; i < n; i++) {
		if (write(to_peer[1], &c, 1) != 1 || read(to_main[0], &c, 1) != 1) {
			perror("pingpong: pipe");
			exit(1);
		}
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	long loops = argc > 1 ? atol(argv[1]) : 200000;
	char line[64], c = 'q';
	pthread_t t;
	double t0, t1;

	if (loops < 1 || pipe(to_peer) || pipe(to_main) || pthread_create(&t, NULL, peer, NULL)) {
		fprintf(stderr, "usage: pingpong LOOPS\n");
		return 2;
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	round_trips(loops / 10 + 1);
	t0 = now_us();
	round_trips(loops);
	t1 = now_us();
	if (write(to_peer[1], &c, 1) != 1 || read(to_main[0], &c, 1) != 1)
		return 1;
	pthread_join(t, NULL);
	printf("us_per_op %.4f\n", (t1 - t0) / loops);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
