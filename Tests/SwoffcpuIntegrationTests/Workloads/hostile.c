/*
 * hostile: names a terminal, an HTML page and a folded-stacks reader would choke on.
 * Two threads contend one mutex as in mutex.c; after checking in under plain names
 * ("hostile0", "hostile1": the `tid NAME TID` protocol stays readable), each renames
 * itself to "\033[2J<b>x</b>;\n" (14 bytes; a comm holds 15): a thread name that would
 * clear the screen, open a tag and split a folded line. The mutex and the function
 * that takes it have such names too (quoted assembler symbols: any byte but NUL and
 * newline), so lock names and frames are hostile as well.
 */
#include "workload.h"

pthread_mutex_t hostile_lock __asm__("\"g_lock\033[2J<b>x</b>;&\"") = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void hostile_wait(void) __asm__("\"wait\033[31m<i>;&\"");

__attribute__((noinline)) void hostile_wait(void)
{
	pthread_mutex_lock(&hostile_lock);
	wl_burn_ns(200000);
	pthread_mutex_unlock(&hostile_lock);
	__asm__ volatile("" ::: "memory");
}

static void *contend(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "hostile%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	pthread_setname_np(pthread_self(), "\033[2J<b>x</b>;\n");
	for (;;) {
		hostile_wait();
		wl_burn_ns(20000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_count = 2;
	wl_parse(argc, argv);
	for (int i = 0; i < wl_count; i++)
		wl_spawn(contend, (void *)(intptr_t)i);
	return wl_main_loop(wl_count);
}
