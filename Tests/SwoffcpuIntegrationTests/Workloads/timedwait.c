/*
 * timedwait: the condition-variable pattern of xz -T2's main thread (issue 15). Thread
 * "timedwait" waits on g_tw_cond with pthread_cond_timedwait(300 ms) in a loop; nobody ever
 * signals it, so every wait ends by its timeout (a timer releases it, in whatever thread the
 * interrupt hits). The first wait is in progress when a trace starts.
 */
#include "workload.h"
#include <time.h>

pthread_mutex_t g_tw_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_tw_cond;

static void *timedwait(void *arg)
{
	(void)arg;
	wl_thread_ready("timedwait");
	pthread_mutex_lock(&g_tw_lock);
	for (;;) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 300000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g_tw_cond, &g_tw_lock, &ts);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_condattr_t attr;

	wl_parse(argc, argv);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&g_tw_cond, &attr);
	printf("addr g_tw_cond %p\n", (void *)&g_tw_cond);
	wl_spawn(timedwait, NULL);
	return wl_main_loop(1);
}
