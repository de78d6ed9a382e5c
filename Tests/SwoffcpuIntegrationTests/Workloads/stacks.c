/*
 * stacks: 4 threads "waiter0".."waiter3" contending one mutex through a known
 * call path, worker -> lock_outer -> lock_inner -> pthread_mutex_lock, so the
 * tests can look for those functions, in that order, under the `blocked` root
 * of the folded stacks. noinline keeps every frame; the tests build this with
 * frame pointers, and glibc's frames (none) are recovered from .eh_frame.
 */
#include "workload.h"

static pthread_mutex_t g_stack_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void lock_inner(void)
{
	pthread_mutex_lock(&g_stack_lock);
	wl_burn_ns(200000);
	pthread_mutex_unlock(&g_stack_lock);
	__asm__ volatile("" ::: "memory"); /* no tail call */
}

__attribute__((noinline)) static void lock_outer(void)
{
	lock_inner();
	__asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "waiter%d", (int)(intptr_t)arg);
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
		wl_spawn(worker, (void *)(intptr_t)i);
	return wl_main_loop(wl_count);
}
