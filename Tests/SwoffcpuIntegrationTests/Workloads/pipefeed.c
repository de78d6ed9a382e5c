/*
 * A thread waiting on a pipe fed by another process: the main process forks a child
 * ("pipe-feeder", a process of its own) that burns 1 ms of CPU and writes one byte into a
 * pipe, again and again; the parent's "pipe-reader" thread reads them. The reader's sleeps
 * in read() are ended by the feeder: traced with -p PARENT,CHILD, the wait-for graph has
 * the edge reader -> feeder across the two processes. The child's pid is printed as a
 * `tid pipe-feeder PID` line before `ready`.
 */
#include "workload.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static int fds[2];

static void *reader(void *arg)
{
	char c;

	(void)arg;
	setpriority(PRIO_PROCESS, 0, -20); /* best effort, as the feeder */
	wl_thread_ready("pipe-reader");
	for (;;) {
		if (read(fds[0], &c, 1) <= 0)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pid_t child;

	wl_parse(argc, argv);
	if (pipe(fds))
		wl_die("pipe");
	child = fork();
	if (child < 0)
		wl_die("fork");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "pipe-feeder");
		setpriority(PRIO_PROCESS, 0, -20); /* best effort: a busy machine's other work does not starve it */
		close(fds[0]);
		for (;;) {
			wl_burn_cpu_ns(1000000);
			if (write(fds[1], "x", 1) != 1)
				_exit(0);
		}
	}
	close(fds[1]);
	wl_spawn(reader, NULL);
	/* The child is named in the list like a thread of ours. */
	pthread_mutex_lock(&wl_lock);
	snprintf(wl_threads[wl_checked_in].name, sizeof(wl_threads[0].name), "pipe-feeder");
	wl_threads[wl_checked_in].tid = child;
	wl_checked_in++;
	pthread_mutex_unlock(&wl_lock);
	int status = wl_main_loop(2);
	kill(child, SIGKILL);
	return status;
}
