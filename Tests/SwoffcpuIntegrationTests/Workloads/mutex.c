/*
 * mutex: N threads (-n, default 4), "mtx0".."mtxN-1", contending one default
 * pthread mutex through a known call path, contend -> lock_outer ->
 * lock_inner -> pthread_mutex_lock (the stacks test looks for those frames,
 * in that order, under `blocked`). Each holds the lock for 200 us of CPU work,
 * then works 20 us outside it, so the lock is nearly always held and waiters
 * really sleep in futex(FUTEX_WAIT) (the default mutex does not spin).
 * noinline and the empty asm keep every frame (no inlining, no tail calls).
 */
#include "workload.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void lock_inner(void)
{
	pthread_mutex_lock(&m);
	wl_burn_ns(200000);
	pthread_mutex_unlock(&m);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void lock_outer(void)
{
	lock_inner();
	__asm__ volatile("" ::: "memory");
}

static void *contend(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "mtx%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		lock_outer();
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
