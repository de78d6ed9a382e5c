#define _GNU_SOURCE
#include "swoffcpu_launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <time.h>

/* In the child: tell the parent why, and leave as a shell does for a command it cannot run. */
static void __attribute__((noreturn)) child_fail(int error_fd, int err)
{
	ssize_t n;

	do
		n = write(error_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

int swoffcpu_launch_held(const char *path, char *const argv[], char *const envp[], int32_t uid, int32_t gid,
			 const uint32_t *groups, int ngroups, struct swoffcpu_launch *out)
{
	int release[2], error[2];
	pid_t pid;

	if (pipe2(release, O_CLOEXEC) != 0)
		return -errno;
	if (pipe2(error, O_CLOEXEC) != 0) {
		int err = -errno;
		close(release[0]);
		close(release[1]);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(release[0]);
		close(release[1]);
		close(error[0]);
		close(error[1]);
		return err;
	}
	if (pid == 0) {
		/* The child: async-signal-safe calls only from here on. */
		struct sigaction dfl;
		sigset_t none;
		char go;
		ssize_t n;

		close(release[1]);
		close(error[0]);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and glibc's own fail: fine */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		do
			n = read(release[0], &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(127); /* the tracer gave up (or died) before releasing */
		close(release[0]);
		if (uid >= 0) {
			if (setgroups((size_t)ngroups, (const gid_t *)groups) != 0)
				child_fail(error[1], errno);
			if (setgid((gid_t)gid) != 0)
				child_fail(error[1], errno);
			if (setuid((uid_t)uid) != 0)
				child_fail(error[1], errno);
		}
		execve(path, argv, envp);
		child_fail(error[1], errno);
	}
	close(release[0]);
	close(error[1]);
	out->pid = pid;
	out->release_fd = release[1];
	out->error_fd = error[0];
	return 0;
}

int swoffcpu_launch_release(struct swoffcpu_launch *launch)
{
	char go = 1;
	int err = 0;
	ssize_t n;
	sigset_t pipe_set, old_set;
	struct timespec zero = { 0, 0 };

	/* A child already gone (a Ctrl-C at the terminal reached it while held) makes the
	 * write fail with EPIPE: not with a SIGPIPE that would kill swoffcpu. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	do
		n = write(launch->release_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE) {
		int saved = errno;
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			; /* the SIGPIPE this thread just got, if it was not pending before */
		errno = saved;
	}
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	close(launch->release_fd);
	launch->release_fd = -1;
	if (n != 1) {
		err = errno ? errno : EPIPE;
	} else {
		/* EOF: the exec closed the child's end (close-on-exec). An int: it failed. */
		do
			n = read(launch->error_fd, &err, sizeof(err));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(err))
			err = 0;
	}
	close(launch->error_fd);
	launch->error_fd = -1;
	return err;
}

void swoffcpu_launch_cancel(struct swoffcpu_launch *launch)
{
	if (launch->release_fd >= 0)
		close(launch->release_fd);
	if (launch->error_fd >= 0)
		close(launch->error_fd);
	launch->release_fd = launch->error_fd = -1;
}

int swoffcpu_user_groups(const char *user, uint32_t gid, uint32_t *groups, int max)
{
	int n = max;

	if (getgrouplist(user, (gid_t)gid, (gid_t *)groups, &n) < 0)
		return -1;
	return n;
}
