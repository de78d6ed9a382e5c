/*
 * Starting a command held before its first instruction (`swoffcpu -- COMMAND`): the
 * child is forked and waits on a pipe; the tracer adds it to its targets and seeds
 * it, then releases it, and only then does it drop to the invoking user and exec.
 * In C because the child of a fork of a multithreaded process may only make
 * async-signal-safe calls (no Swift runtime).
 */
#ifndef SWOFFCPU_LAUNCH_H
#define SWOFFCPU_LAUNCH_H

#include <stdint.h>

struct swoffcpu_launch {
	int pid;
	int release_fd; /* write end of the pipe the child waits on */
	int error_fd;   /* read end: the child's errno if its setup or exec failed; EOF once it exec'ed */
};

/*
 * Forks the held child. `path` is what to execve (already searched in PATH), with
 * `argv` and `envp` (NULL-terminated). With uid >= 0 the child sets its supplementary
 * groups to `groups`, then gid, then uid before exec. Every signal's disposition goes
 * back to the default and the signal mask is emptied in the child. 0 or a negative errno.
 */
int swoffcpu_launch_held(const char *path, char *const argv[], char *const envp[], int32_t uid, int32_t gid,
			 const uint32_t *groups, int ngroups, struct swoffcpu_launch *out);
/*
 * Lets the child go on (0 = it exec'ed), or gives the errno with which its setup or
 * exec failed (the child has then exited with status 127). Closes both pipes.
 */
int swoffcpu_launch_release(struct swoffcpu_launch *launch);
/* Closes the pipes without releasing: the held child exits with status 127. */
void swoffcpu_launch_cancel(struct swoffcpu_launch *launch);

/* A user's supplementary groups (getgrouplist), `gid` included: the count, or -1
 * if more than `max`. */
int swoffcpu_user_groups(const char *user, uint32_t gid, uint32_t *groups, int max);

#endif
