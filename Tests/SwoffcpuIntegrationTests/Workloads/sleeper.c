/* sleeper: one thread, "nsleep", looping on 1 ms nanosleep() (interruptible sleep, no futex). */
#include "workload.h"

static void *nsleep(void *arg)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

	(void)arg;
	wl_thread_ready("nsleep");
	for (;;)
		nanosleep(&ts, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	wl_spawn(nsleep, NULL);
	return wl_main_loop(1);
}
