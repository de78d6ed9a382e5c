/*
 * execer: a process that sleeps in one function, then, on SIGUSR1, execs itself and sleeps in
 * another. Its stacks from before the exec must be named from the image it had then, those
 * after from the new one (the two images are at different addresses: ASLR).
 *   execer          sleep_before_exec() in a loop until SIGUSR1, then exec "execer after"
 *   execer after    sleep_after_exec() in a loop, forever
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* noinline, and work after the call: each keeps its own frame above nanosleep. */
__attribute__((noinline)) static void sleep_before_exec(void)
{
	nap_ms(20);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void sleep_after_exec(void)
{
	nap_ms(20);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "after") == 0) {
		for (;;)
			sleep_after_exec();
	}
	signal(SIGUSR1, on_usr1);
	while (!go)
		sleep_before_exec();
	char *args[] = { argv[0], "after", NULL };
	execv("/proc/self/exe", args);
	return 1;
}
