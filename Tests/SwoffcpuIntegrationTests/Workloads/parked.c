/*
 * parked: three threads that never run once parked.
 *   "piperead"  read() on a pipe nobody writes: interruptible sleep, all window.
 *   "condwait"  pthread_cond_wait() nobody signals: a futex wait (blocked), all window.
 *   "pauser"    pause(): interruptible sleep, not a futex, all window.
 */
#include "workload.h"

static int pipefd[2];
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;

static void *piperead(void *arg)
{
	char c;

	(void)arg;
	wl_thread_ready("piperead");
	for (;;)
		if (read(pipefd[0], &c, 1) == 0)
			break;
	return NULL;
}

static void *condwait(void *arg)
{
	(void)arg;
	wl_thread_ready("condwait");
	pthread_mutex_lock(&park_lock);
	for (;;)
		pthread_cond_wait(&park_cond, &park_lock);
	return NULL;
}

static void *pauser(void *arg)
{
	(void)arg;
	wl_thread_ready("pauser");
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	if (pipe(pipefd))
		wl_die("pipe");
	wl_spawn(piperead, NULL);
	wl_spawn(condwait, NULL);
	wl_spawn(pauser, NULL);
	return wl_main_loop(3);
}
