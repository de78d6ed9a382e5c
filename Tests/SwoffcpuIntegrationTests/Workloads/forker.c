/*
 * forker: a command for `swoffcpu --follow -- forker`: it spins a little, starts a thread that
 * sleeps, forks a child that runs a shell pipeline, waits for it, then execs a shell that exits
 * with status 7. Every process of it (forker, the pipeline's sh, sleep, cat, the final sh) must
 * appear in the trace from its start.
 *   forker          as above
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void spin_ms(long ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L < ms);
}

static void *napper(void *arg)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000000L };

	(void)arg;
	nanosleep(&ts, NULL);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pid_t child;
	int status;

	spin_ms(20);
	if (pthread_create(&t, NULL, napper, NULL) != 0)
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", "sleep 0.2 | cat > /dev/null", (char *)NULL);
		_exit(126);
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 2;
	pthread_join(t, NULL);
	execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
	return 3;
}
