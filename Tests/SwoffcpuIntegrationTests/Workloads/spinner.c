/* spinner: one thread, "spin", in a pure CPU loop (no system calls). */
#include "workload.h"

static void *spin(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	wl_thread_ready("spin");
	for (;;)
		x++;
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	wl_spawn(spin, NULL);
	return wl_main_loop(1);
}
