/*
 * mutex: N threads (-n, default 4), "mtx0".."mtxN-1", contending one default
 * pthread mutex. Each holds it for 200 us of CPU work, then works 20 us
 * outside it, so the lock is nearly always held and waiters really sleep in
 * futex(FUTEX_WAIT) (the default mutex does not spin).
 */
#include "workload.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *contend(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "mtx%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		pthread_mutex_lock(&m);
		wl_burn_ns(200000);
		pthread_mutex_unlock(&m);
		wl_burn_ns(20000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_count = 4;
	wl_parse(argc, argv);
	for (int i = 0; i < wl_count; i++)
		wl_spawn(contend, (void *)(intptr_t)i);
	return wl_main_loop(wl_count);
}
