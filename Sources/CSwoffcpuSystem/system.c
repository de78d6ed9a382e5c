#define _GNU_SOURCE
#include "swoffcpu_system.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

int swoffcpu_effective_caps(uint64_t *caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) != 0)
		return -errno;
	*caps = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
	return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

void swoffcpu_install_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a sleep in the main loop returns at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The terminal going away (ssh dropped) ends the trace like Ctrl-C: files are written. */
	sigaction(SIGHUP, &sa, NULL);
}

int swoffcpu_stop_signal(void)
{
	return stop_signal;
}

int swoffcpu_start_writeback(int fd, long long offset, long long len)
{
	return sync_file_range(fd, offset, len, SYNC_FILE_RANGE_WRITE);
}
